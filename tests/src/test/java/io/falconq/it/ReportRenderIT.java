package io.falconq.it;

import io.falconq.cli.report.EvaluationSetup;
import io.falconq.cli.report.HtmlReport;
import io.falconq.cli.report.ModelReport;
import io.falconq.cli.report.Report;
import io.falconq.cli.report.ReportFiles;
import io.falconq.cli.report.VariantReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * report.html as a browser shows it: headless Chromium loads the file, every chart image decodes (the page's own
 * load script counts them), and the screenshot contains the charts' marker colour, which nothing else on the page
 * uses.
 */
class ReportRenderIT {
    /** The colour ReportCharts draws variant markers in (JFreeChart renders it exactly; Chromium shows PNGs 1:1). */
    private static final int MARKER_RGB = 0x1f77b4;

    @TempDir
    Path dir;

    private static VariantReport variant(String name, long size, double deltaPpl, double kld, double top1) {
        return new VariantReport(name, VariantReport.Kind.GGUF, Map.of("F32", 49, "Q6_K", 30), size,
                8.0 * size / 6_543_360, 64.06 + deltaPpl, 0.5, deltaPpl, 0.01,
                new VariantReport.KldStats(kld, kld / 100, kld / 2, kld * 8, kld * 30), top1, 900.0,
                new VariantReport.ArtifactRef("tiny/tiny-" + name + ".gguf", "0".repeat(64)));
    }

    static Report report() {
        ModelReport tiny = new ModelReport("falcon-h1-tiny",
                new ModelReport.ModelSource("models/falcon-h1-tiny", "1".repeat(64), "BF16"), 6_543_360L,
                new ModelReport.BaselineResult(13_090_000L, 16.0, 64.06, 0.5, 950.0),
                List.of(variant("Q8_0", 7_000_000L, 0.03, 0.0003, 99.2),
                        variant("Q5_K_M", 5_200_000L, 0.4, 0.004, 97.0),
                        variant("Q4_K_M", 4_500_000L, 1.3, 0.02, 93.0),
                        variant("Q2_K", 2_900_000L, 17.8, 0.35, 71.0)));
        return Report.of("it", "2025-01-31T12:00:00Z",
                new EvaluationSetup("falconq", "corpus/valid.txt", "2".repeat(64), 512, 2, 1022), List.of(tiny));
    }

    @Test
    void chromiumLoadsEveryChartAndTheScreenshotShowsThem() throws Exception {
        Path dist = dir.resolve("dist");
        java.nio.file.Files.createDirectories(dist);
        ReportFiles.writeAll(report(), dist);
        Path html = dist.resolve(HtmlReport.FILE_NAME);
        HeadlessChromium chromium = new HeadlessChromium(dir);

        String dom = chromium.dumpDom(html);
        Matcher loaded = Pattern.compile("data-charts-loaded=\"(\\d+)\"").matcher(dom);
        Matcher total = Pattern.compile("data-charts-total=\"(\\d+)\"").matcher(dom);
        assertTrue(loaded.find() && total.find(), "the page's load script did not run: " + dom.substring(0, Math.min(400, dom.length())));
        assertEquals("2", total.group(1), "two charts for the one model");
        assertEquals("2", loaded.group(1), "every chart image decoded in the browser");
        assertTrue(dom.contains("+17.8000 ± 0.0100"), "the Q2_K ΔPPL cell is in the rendered table");

        BufferedImage shot = ImageIO.read(chromium.screenshot(html, 1280, 1400).toFile());
        assertNotNull(shot, "screenshot is a PNG");
        int markerPixels = 0;
        int nonWhite = 0;
        for (int y = 0; y < shot.getHeight(); y++) {
            for (int x = 0; x < shot.getWidth(); x++) {
                int rgb = shot.getRGB(x, y) & 0xffffff;
                if (rgb != 0xffffff) {
                    nonWhite++;
                }
                if (near(rgb, MARKER_RGB, 3)) {
                    markerPixels++;
                }
            }
        }
        assertTrue(nonWhite > shot.getWidth() * shot.getHeight() / 100, "screenshot is blank: " + nonWhite + " non-white pixels");
        // 4 variant markers in each of the two charts, each a filled 10 px circle (~70 px of the exact colour)
        assertTrue(markerPixels > 2 * 4 * 40, "chart markers not visible in the screenshot: " + markerPixels + " pixels");
    }

    /** The report of {@link #report()} with two evaluation languages: a third chart, KLD per language. */
    static Report multilingualReport() {
        List<VariantReport> variants = new java.util.ArrayList<>();
        for (VariantReport v : report().models().getFirst().variants()) {
            VariantReport.KldStats k = v.kld();
            variants.add(new VariantReport(v.name(), v.kind(), v.typeMix(), v.fileSizeBytes(), v.bitsPerWeight(),
                    v.ppl(), v.pplError(), v.deltaPpl(), v.deltaPplError(), k, v.top1Percent(), v.tokensPerSecond(),
                    v.artifact(), List.of(
                    new VariantReport.LanguageResult("en", 511, v.ppl(), 0.5, v.deltaPpl(), 0.01, k, v.top1Percent()),
                    new VariantReport.LanguageResult("ja", 511, v.ppl() * 9, 5, v.deltaPpl() * 3, 0.1,
                            new VariantReport.KldStats(k.mean() * 3, k.meanError() * 3, k.median() * 3, k.p99() * 3,
                                    k.max() * 3),
                            v.top1Percent() - 10))));
        }
        ModelReport base = report().models().getFirst();
        ModelReport tiny = new ModelReport(base.name(), base.source(), base.parameterCount(),
                new ModelReport.BaselineResult(13_090_000L, 16.0, 192.0, 2.0, 950.0, List.of(
                        new ModelReport.LanguagePpl("en", 511, 64.06, 0.5),
                        new ModelReport.LanguagePpl("ja", 511, 576.5, 5.0))), variants, null);
        return Report.of("it", "2025-01-31T12:00:00Z", new EvaluationSetup("falconq", "builtin:multi", "2".repeat(64),
                512, 2, 1022, List.of(new EvaluationSetup.EvalText("en", "builtin:en-eval", "3".repeat(64), 1, 511),
                new EvaluationSetup.EvalText("ja", "builtin:ja-eval", "4".repeat(64), 1, 511))), List.of(tiny));
    }

    @Test
    void chromiumLoadsThePerLanguageChartToo() throws Exception {
        Path dist = dir.resolve("dist-multi");
        java.nio.file.Files.createDirectories(dist);
        ReportFiles.writeAll(multilingualReport(), dist);
        String dom = new HeadlessChromium(dir).dumpDom(dist.resolve(HtmlReport.FILE_NAME));
        Matcher loaded = Pattern.compile("data-charts-loaded=\"(\\d+)\"").matcher(dom);
        Matcher total = Pattern.compile("data-charts-total=\"(\\d+)\"").matcher(dom);
        assertTrue(loaded.find() && total.find(), "the page's load script did not run");
        assertEquals("3", total.group(1), "size vs ΔPPL, size vs KLD, KLD per language");
        assertEquals("3", loaded.group(1), "every chart image decoded in the browser");
        assertTrue(dom.contains("Per language"), "the per-language table is in the page");
    }

    /** {@link #report()} with an auto@ variant: its allocation grids and its red diamond in both charts. */
    @Test
    void chromiumShowsTheAllocationGridsAndTheAllocatedVariantsMarkers() throws Exception {
        ModelReport base = report().models().getFirst();
        VariantReport q4 = base.variants().get(2);
        java.util.Map<String, String> types = new java.util.TreeMap<>();
        java.util.Map<String, Double> sensitivity = new java.util.TreeMap<>();
        String[] roles = {"attn_q", "attn_k", "ssm_in", "ssm_out", "ffn_up", "ffn_down"};
        String[] chosen = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0"};
        for (int layer = 0; layer < 4; layer++) {
            for (int r = 0; r < roles.length; r++) {
                String name = "blk." + layer + "." + roles[r] + ".weight";
                types.put(name, chosen[(r + layer) % chosen.length]);
                sensitivity.put(name, Math.pow(10, -7 + (r + layer) * 0.5));
            }
        }
        VariantReport auto = new VariantReport("auto@Q4_K_M-size", VariantReport.Kind.GGUF, q4.typeMix(),
                q4.fileSizeBytes() - 1000, q4.bitsPerWeight(), q4.ppl() - 0.5, q4.pplError(), q4.deltaPpl() - 0.5,
                q4.deltaPplError(), new VariantReport.KldStats(0.006, 6e-5, 0.003, 0.05, 0.6), 96.0, 900.0,
                new VariantReport.ArtifactRef("tiny/tiny-auto-Q4_K_M-size.gguf", "0".repeat(64)), List.of(),
                new io.falconq.cli.report.AllocationReport("size:" + q4.fileSizeBytes(), "Q4_K_M", 0.005, true, types,
                        "Q4_K", sensitivity));
        List<VariantReport> variants = new java.util.ArrayList<>(base.variants());
        variants.add(auto);
        Report withAuto = Report.of("it", "2025-01-31T12:00:00Z", report().evaluation(), List.of(new ModelReport(
                base.name(), base.source(), base.parameterCount(), base.baseline(), variants, null)));
        Path dist = dir.resolve("dist-auto");
        java.nio.file.Files.createDirectories(dist);
        ReportFiles.writeAll(withAuto, dist);
        Path html = dist.resolve(HtmlReport.FILE_NAME);
        HeadlessChromium chromium = new HeadlessChromium(dir);
        String dom = chromium.dumpDom(html);
        Matcher loaded = Pattern.compile("data-charts-loaded=\"(\\d+)\"").matcher(dom);
        assertTrue(loaded.find(), "the page's load script did not run");
        assertEquals("2", loaded.group(1), "both charts decoded");
        assertEquals(2, dom.split("class=\"allocation-grid\"", -1).length - 1, "chosen types and sensitivities");
        assertTrue(dom.contains(">Q2_K</td>") && dom.contains(">1.0e-07</td>"), "grid cells in the rendered page");

        BufferedImage shot = ImageIO.read(chromium.screenshot(html, 1280, 2200).toFile());
        int diamondPixels = 0;
        int q2Cells = 0;
        int darkest = 0;
        for (int y = 0; y < shot.getHeight(); y++) {
            for (int x = 0; x < shot.getWidth(); x++) {
                int rgb = shot.getRGB(x, y) & 0xffffff;
                diamondPixels += near(rgb, ALLOCATED_RGB, 3) ? 1 : 0;
                q2Cells += near(rgb, 0xd73027, 2) ? 1 : 0;
                darkest += near(rgb, 0x800026, 2) ? 1 : 0;
            }
        }
        // one 14 px diamond (~98 px of its colour) in each of the two charts
        assertTrue(diamondPixels > 2 * 50, "allocated markers not visible: " + diamondPixels + " pixels");
        // four Q2_K cells and the most sensitive tensor's cell, each some hundreds of pixels
        assertTrue(q2Cells > 4 * 100, "Q2_K cells not visible: " + q2Cells);
        assertTrue(darkest > 100, "the most sensitive cell is not visible: " + darkest);
    }

    /** ReportCharts' colour for auto@ variants. */
    private static final int ALLOCATED_RGB = 0xd62728;

    private static boolean near(int rgb, int target, int tolerance) {
        for (int shift = 0; shift <= 16; shift += 8) {
            if (Math.abs(((rgb >> shift) & 0xff) - ((target >> shift) & 0xff)) > tolerance) {
                return false;
            }
        }
        return true;
    }
}
