package io.falconq.cli.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The HTML report's per-layer × tensor-role pictures of an {@code auto@} variant: the type chosen for each tensor
 * (one fixed colour per type) and the measured sensitivity at the reference type (ΔKLD on a log colour scale, light =
 * least, dark = most sensitive). Layers are rows, roles columns; tensors outside the layers (token_embd, output)
 * form a first row. Plain HTML tables, so a reader can also copy the numbers.
 */
final class AllocationGrid {
    private static final Pattern LAYER_TENSOR = Pattern.compile("blk\\.(\\d+)\\.(.+)\\.weight");
    private static final String GLOBAL_ROW = "model";

    /** Colour per type, small (warm) to large (cool); none is the charts' marker blue. */
    private static final Map<String, String> TYPE_COLOURS = Map.ofEntries(
            Map.entry("Q2_K", "#d73027"), Map.entry("Q3_K", "#f46d43"), Map.entry("Q4_0", "#fdae61"),
            Map.entry("Q4_1", "#fdae61"), Map.entry("IQ4_NL", "#fdae61"), Map.entry("IQ4_XS", "#fdae61"),
            Map.entry("Q4_K", "#fee090"), Map.entry("Q5_0", "#d9ef8b"), Map.entry("Q5_1", "#d9ef8b"),
            Map.entry("Q5_K", "#a6d96a"), Map.entry("Q6_K", "#66bd63"), Map.entry("Q8_0", "#abd9e9"),
            Map.entry("F16", "#74add1"), Map.entry("BF16", "#74add1"), Map.entry("F32", "#e0e0e0"));

    private AllocationGrid() {
    }

    /**
     * @param withSensitivities also draw the measured sensitivities (the model's one table: once per model is enough)
     */
    static void append(StringBuilder html, String variant, AllocationReport a, boolean withSensitivities) {
        html.append("<h3>").append(HtmlReport.escape(variant)).append(": allocation</h3>\n<p class=\"meta\">Budget ")
                .append(HtmlReport.escape(ReportSentences.budget(a.budget()))).append(", file type ").append(HtmlReport.escape(a.fileType()))
                .append(String.format(Locale.ROOT, ", predicted ΔKLD %.4g nats", a.predictedDeltaKld()))
                .append(a.exact() ? " (optimal for the table)" : "").append(".</p>\n<div class=\"grids\">\n");
        grid(html, "chosen type", a.types(), t -> t, t -> TYPE_COLOURS.getOrDefault(t, "#ffffff"));
        if (withSensitivities && !a.referenceDeltaKld().isEmpty()) {
            double min = a.referenceDeltaKld().values().stream().filter(d -> d > 0).mapToDouble(d -> d).min().orElse(1);
            double max = a.referenceDeltaKld().values().stream().mapToDouble(d -> d).max().orElse(1);
            grid(html, "measured ΔKLD at " + a.referenceType() + String.format(Locale.ROOT,
                            " (log colour scale, %.1e … %.1e nats)", min, max), a.referenceDeltaKld(),
                    d -> String.format(Locale.ROOT, "%.1e", d), d -> logColour(d, min, max));
        }
        html.append("</div>\n");
    }

    private static <T> void grid(StringBuilder html, String caption, Map<String, T> byTensor,
                                 Function<T, String> text, Function<T, String> colour) {
        Map<String, Map<String, T>> rows = new TreeMap<>((x, y) -> Integer.compare(rowOrder(x), rowOrder(y)));
        TreeSet<String> roles = new TreeSet<>();
        for (Map.Entry<String, T> e : byTensor.entrySet()) {
            Matcher m = LAYER_TENSOR.matcher(e.getKey());
            String row = m.matches() ? m.group(1) : GLOBAL_ROW;
            String role = m.matches() ? m.group(2) : e.getKey().replaceFirst("\\.weight$", "");
            rows.computeIfAbsent(row, r -> new TreeMap<>()).put(role, e.getValue());
            roles.add(role);
        }
        List<String> columns = new ArrayList<>(roles);
        html.append("<table class=\"allocation-grid\">\n<caption>").append(HtmlReport.escape(caption))
                .append("</caption>\n<thead><tr><th>layer</th>");
        columns.forEach(c -> html.append("<th>").append(HtmlReport.escape(c)).append("</th>"));
        html.append("</tr></thead>\n<tbody>\n");
        for (Map.Entry<String, Map<String, T>> row : rows.entrySet()) {
            html.append("<tr><th>").append(HtmlReport.escape(row.getKey())).append("</th>");
            for (String c : columns) {
                T value = row.getValue().get(c);
                if (value == null) {
                    html.append("<td></td>");
                } else {
                    String background = colour.apply(value);
                    html.append("<td style=\"background:").append(background)
                            .append(dark(background) ? ";color:#ffffff" : "").append("\">")
                            .append(HtmlReport.escape(text.apply(value))).append("</td>");
                }
            }
            html.append("</tr>\n");
        }
        html.append("</tbody>\n</table>\n");
    }

    /** Whether white text reads better on {@code #rrggbb} (relative luminance below one half). */
    static boolean dark(String hex) {
        int rgb = Integer.parseInt(hex.substring(1), 16);
        double luminance = (0.2126 * (rgb >> 16 & 0xff) + 0.7152 * (rgb >> 8 & 0xff) + 0.0722 * (rgb & 0xff)) / 255;
        return luminance < 0.5;
    }

    private static int rowOrder(String row) {
        return row.equals(GLOBAL_ROW) ? -1 : Integer.parseInt(row);
    }

    /** Light yellow (least) to dark red (most) by log10 ΔKLD between {@code min} and {@code max}. */
    static String logColour(double value, double min, double max) {
        double span = Math.log10(max) - Math.log10(min);
        double t = value <= 0 || span <= 0 ? 0 : Math.max(0, Math.min(1, (Math.log10(value) - Math.log10(min)) / span));
        int[] light = {0xff, 0xff, 0xcc};
        int[] dark = {0x80, 0x00, 0x26};
        int[] rgb = new int[3];
        for (int i = 0; i < 3; i++) {
            rgb[i] = (int) Math.round(light[i] + t * (dark[i] - light[i]));
        }
        return String.format(Locale.ROOT, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    }
}
