package io.falconq.cli.report;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportRenderingTest {
    private final Report report = SampleReports.tinyReport();

    @Test
    void markdownHasOneTablePerModelWithTheReportNumbers() {
        String md = MarkdownReport.render(report);
        assertTrue(md.contains("## falcon-h1-tiny\n"), md);
        assertTrue(md.contains("## falcon-h1-tiny-sharded\n"), md);
        assertEquals(2, count(md, "| Variant | Kind | Type mix | Size | Bits/weight | PPL | ΔPPL | KLD mean | KLD p99 | Top-1 | Tokens/s |"));
        // Q4_K_M row, every value from SampleReports: 4,400,000 B = 4.196167 MiB; KLD p99 = 8 · 0.021987
        assertTrue(md.contains("| Q4_K_M | gguf | F32 49, Q8_0 30 | 4.20 MiB | 4.89 | 65.4321 ± 0.0123 | +1.3720 ± 0.0045 | 0.021987 | 0.175896 | 93.50 % | 1234.5 |"), md);
        assertTrue(md.contains("| w4-gptq | gptq | BF16 21, gptq-int4 28 | 3.91 MiB | 4.25 | 66.0100 ± 0.0123 | +1.9499 ± 0.0045 | 0.031250 | 0.250000 | 92.00 % | 1234.5 |"), md);
        // baseline row: 13,100,000 B = 12.493134 MiB
        assertTrue(md.contains("| BF16 (original) | original | — | 12.49 MiB | 16.00 | 64.0601 ± 0.5432 | — | — | — | — | 987.6 |"), md);
        assertTrue(md.contains("2044 scored tokens"), md);
        assertTrue(md.contains(SampleReports.CREATED_AT), md);
        assertTrue(md.contains("6,543,360 parameters"), md);
    }

    @Test
    void anAutoVariantGetsItsBudgetLineAndTwoLayerByRoleGrids() {
        String md = MarkdownReport.render(report);
        // SampleReports.autoVariant: size:4400000, 4,399,000 bytes, 4.88 bpw, predicted 0.0055, KLD 0.0071 ± 0.000071
        assertTrue(md.contains("- auto@Q4_K_M-size: budget 4,400,000 bytes, file 4,399,000 bytes (4.880 bits/weight); "
                + "predicted KLD 0.005500 (sum of the measured ΔKLD of each tensor's chosen type), measured mean KLD "
                + "0.007100 ± 7.1e-05."), md);
        assertEquals(1, count(md, "- auto@"), "only the auto variant has an allocation line");
        String html = HtmlReport.render(report);
        assertEquals(2, count(html, "<table class=\"allocation-grid\">"), "chosen types and sensitivities");
        // rows: the global tensors first, then layers 0 and 1; columns sorted by role
        assertTrue(html.contains("<tr><th>model</th><td></td><td style=\"background:#abd9e9\">Q8_0</td><td></td>"
                + "<td style=\"background:#fee090\">Q4_K</td></tr>"), html);
        assertTrue(html.contains("<tr><th>1</th><td style=\"background:#d73027;color:#ffffff\">Q2_K</td>"), html);
        // log scale: the least sensitive tensor (2.0e-7) is the lightest colour, the most (5.7e-4) the darkest
        assertTrue(html.contains("<td style=\"background:#ffffcc\">2.0e-07</td>"), html);
        assertTrue(html.contains("<td style=\"background:#800026;color:#ffffff\">5.7e-04</td>"), html);
        assertTrue(html.contains("Budget 4,400,000 bytes, file type Q4_K_M"), html);
        // the geometric middle of the range is the channel-wise middle of #ffffcc and #800026: (191.5, 127.5, 121)
        assertTrue(List.of("#c08079", "#bf7f79").contains(AllocationGrid.logColour(1e-5, 1e-7, 1e-3)));
    }

    @Test
    void htmlHasTheSameCellsAndTwoDecodableChartsPerModel() throws IOException {
        String html = HtmlReport.render(report);
        for (String cell : List.of("Q4_K_M", "65.4321 ± 0.0123", "+1.3720 ± 0.0045", "0.021987", "93.50 %", "4.20 MiB",
                "+17.8399 ± 0.0045", "0.345600", "71.25 %", "64.0601 ± 0.5432", "+0.2399 ± 0.0045")) {
            assertTrue(html.contains("<td>" + cell + "</td>") || html.contains("<td class=\"num\">" + cell + "</td>"),
                    "missing cell " + cell);
        }
        Matcher img = Pattern.compile("<img class=\"chart\"[^>]*src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"")
                .matcher(html);
        int charts = 0;
        while (img.find()) {
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(img.group(1))));
            assertNotNull(image, "chart " + charts + " is not a decodable PNG");
            assertEquals(ReportCharts.WIDTH, image.getWidth());
            assertEquals(ReportCharts.HEIGHT, image.getHeight());
            assertTrue(distinctColours(image) > 20, "chart " + charts + " looks blank");
            charts++;
        }
        assertEquals(4, charts, "two charts for each of the two models");
        assertTrue(html.contains("data-charts-loaded"), "the load script marks decoded charts for headless checks");
        assertTrue(!html.contains("http://") && !html.contains("https://"), "self-contained: no external resources");
    }

    @Test
    void perLanguageRowsAndChartFromTheReportNumbers() throws IOException {
        Report multi = SampleReports.multilingualReport();
        String md = MarkdownReport.render(multi);
        assertTrue(md.contains("### Per language"), md);
        // rows exactly as SampleReports.multilingualReport gives them
        assertTrue(md.contains("| Q4_K_M | all (token-weighted) | — | 120.5000 ± 1.5000 | +2.2500 ± 0.2500 | 0.020000 ± 0.001500 | 0.200000 | 93.50 % |"), md);
        assertTrue(md.contains("| Q4_K_M | de | 100 | 900.0000 ± 30.0000 | +9.0000 ± 1.0000 | 0.020000 ± 0.001500 | 0.200000 | 89.00 % |"), md);
        assertTrue(md.contains("| BF16 (original) | en | 300 | 64.0000 ± 1.0000 | — | — | — | — |"), md);
        assertTrue(md.contains("de = b.txt (2 windows, 100 scored tokens)"), md);
        assertTrue(md.contains("Calibration: builtin:multi, sampled per language with seed 0: 4 sequences of 64 tokens"),
                md);
        assertTrue(md.contains("de 128 tokens (text exhausted)"), md);
        String html = HtmlReport.render(multi);
        Matcher img = Pattern.compile("<img class=\"chart\"[^>]*alt=\"([^\"]*)\"[^>]*src=\"data:image/png;base64,"
                + "([A-Za-z0-9+/=]+)\"").matcher(html);
        List<String> alts = new java.util.ArrayList<>();
        while (img.find()) {
            alts.add(img.group(1));
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(img.group(2))));
            assertNotNull(image, img.group(1));
            assertTrue(distinctColours(image) > 20, img.group(1) + " looks blank");
        }
        assertEquals(List.of("size vs ΔPPL for falcon-h1-tiny", "size vs KL divergence for falcon-h1-tiny",
                "KL divergence per language for falcon-h1-tiny"), alts);
        assertTrue(html.contains("<td class=\"num\">+9.0000 ± 1.0000</td>"), "per-language cell in the HTML table");
    }

    @Test
    void chartsDrawPointsWhereTheDataIs() throws IOException {
        BufferedImage chart = ImageIO.read(new ByteArrayInputStream(ReportCharts.sizeVsDeltaPpl(report.models().get(0))));
        // the variant series is drawn in the one blue used for it; at least one filled marker's worth of pixels
        int blue = 0;
        for (int y = 0; y < chart.getHeight(); y++) {
            for (int x = 0; x < chart.getWidth(); x++) {
                if ((chart.getRGB(x, y) & 0xffffff) == 0x1f77b4) {
                    blue++;
                }
            }
        }
        assertTrue(blue > 4 * 40, "expected four markers of the variant colour, found " + blue + " pixels");
    }

    @Test
    void renderingIsDeterministic() {
        assertEquals(MarkdownReport.render(report), MarkdownReport.render(SampleReports.tinyReport()));
        assertEquals(HtmlReport.render(report), HtmlReport.render(SampleReports.tinyReport()));
        assertEquals(ReportJson.render(report), ReportJson.render(SampleReports.tinyReport()));
    }

    @Test
    void markupInNamesIsEscaped() {
        assertEquals("a&lt;b&gt;&amp;&quot;&#39;", HtmlReport.escape("a<b>&\"'"));
        assertEquals("a\\|b", MarkdownReport.escape("a|b"));
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    static int distinctColours(BufferedImage image) {
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                colours.add(image.getRGB(x, y));
            }
        }
        return colours.size();
    }
}
