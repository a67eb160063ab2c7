package io.falconq.cli.report;

import io.falconq.formats.io.AtomicOutput;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * {@code report.html}: one self-contained page (inline CSS, charts as base64 PNG, no network) with the same table
 * as {@link MarkdownReport} plus the {@link ReportCharts} of each model.
 *
 * <p>Each chart {@code <img>} has class {@code chart}; a few lines of script set {@code data-charts-loaded} and
 * {@code data-charts-total} on {@code <html>} once the page has loaded, so a headless browser's DOM dump shows
 * whether every chart decoded.
 */
public final class HtmlReport {
    public static final String FILE_NAME = "report.html";

    private static final String CSS = """
            body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1320px;
                   padding: 0 1em; color: #222; }
            h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
            p.meta { color: #555; }
            code { background: #f3f3f3; padding: 0 .2em; word-break: break-all; }
            table { border-collapse: collapse; margin: 1em 0; font-size: .9em; }
            th, td { border: 1px solid #ccc; padding: .3em .6em; }
            th { background: #f0f0f0; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
            tr.original td { background: #fafafa; font-style: italic; }
            .charts { display: flex; flex-wrap: wrap; gap: 1em; }
            img.chart { border: 1px solid #ddd; }
            .grids { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
            table.allocation-grid td { font-size: 0.75em; text-align: center; padding: 0.15em 0.3em; }
            table.allocation-grid caption { font-size: 0.9em; text-align: left; }
            """;

    private static final String LOAD_SCRIPT = """
            window.addEventListener('load', function () {
              var charts = document.querySelectorAll('img.chart');
              var loaded = 0;
              charts.forEach(function (img) { if (img.complete && img.naturalWidth > 0) { loaded++; } });
              document.documentElement.setAttribute('data-charts-total', String(charts.length));
              document.documentElement.setAttribute('data-charts-loaded', String(loaded));
            });
            """;

    private HtmlReport() {
    }

    public static String render(Report report) {
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<title>falconq report</title>\n<style>\n").append(CSS).append("</style>\n")
                .append("<script>\n").append(LOAD_SCRIPT).append("</script>\n</head>\n<body>\n");
        EvaluationSetup eval = report.evaluation();
        html.append("<h1>falconq report</h1>\n<p>Every number below was measured by falconq ")
                .append(escape(report.toolVersion())).append(" on the same ").append(eval.scoredTokens())
                .append(" scored tokens of <code>").append(escape(eval.dataset())).append("</code> (SHA-256 <code>")
                .append(escape(eval.datasetSha256())).append("</code>): ").append(eval.chunks())
                .append(" windows of ").append(eval.contextLength()).append(" tokens, ")
                .append(escape(eval.protocol())).append(" protocol. ΔPPL and KLD are relative to the original model; ")
                .append("KLD is in nats per position; Top-1 is the share of positions whose most likely token is ")
                .append("unchanged.</p>\n");
        String texts = ReportSentences.texts(eval);
        if (texts != null) {
            html.append("<p>").append(escape(texts)).append("</p>\n");
        }
        html.append("<p class=\"meta\">Created ").append(escape(report.createdAt()))
                .append(" · report schema version ").append(report.schemaVersion()).append("</p>\n");
        for (ModelReport model : report.models()) {
            appendModel(html, model);
        }
        html.append("</body>\n</html>\n");
        return html.toString();
    }

    public static void write(Report report, Path file, boolean force) {
        AtomicOutput.writeBytes(file, render(report).getBytes(StandardCharsets.UTF_8), force);
    }

    private static void appendModel(StringBuilder html, ModelReport model) {
        String id = "model-" + model.name().replaceAll("[^A-Za-z0-9_-]", "_");
        html.append("<section id=\"").append(escape(id)).append("\">\n<h2>").append(escape(model.name()))
                .append("</h2>\n<p class=\"meta\">Source <code>").append(escape(model.source().path()))
                .append("</code> (config SHA-256 <code>").append(escape(model.source().configSha256()))
                .append("</code>), ").append(String.format(Locale.ROOT, "%,d", model.parameterCount()))
                .append(" parameters.</p>\n");
        String calibration = ReportSentences.calibration(model.calibration());
        if (calibration != null) {
            html.append("<p class=\"meta\">").append(escape(calibration)).append("</p>\n");
        }
        appendTable(html, ModelTable.of(model), 3, 1);
        ModelTable languages = ModelTable.perLanguage(model);
        if (languages != null) {
            html.append("<h3>Per language</h3>\n");
            appendTable(html, languages, 2, 1 + model.baseline().languages().size());
        }
        if (!model.variants().isEmpty()) {
            html.append("<div class=\"charts\">\n");
            appendChart(html, "size vs ΔPPL for " + model.name(), ReportCharts.sizeVsDeltaPpl(model));
            appendChart(html, "size vs KL divergence for " + model.name(), ReportCharts.sizeVsKld(model));
            if (languages != null) {
                appendChart(html, "KL divergence per language for " + model.name(),
                        ReportCharts.kldByLanguage(model));
            }
            html.append("</div>\n");
        }
        boolean sensitivitiesShown = false;
        for (VariantReport v : model.variants()) {
            if (v.allocation() != null) {
                AllocationGrid.append(html, v.name(), v.allocation(), !sensitivitiesShown);
                sensitivitiesShown = true;
            }
        }
        html.append("</section>\n");
    }

    /** A table: the first {@code nameColumns} columns are names, the rest numbers; the first rows the original's. */
    private static void appendTable(StringBuilder html, ModelTable table, int nameColumns, int originalRows) {
        html.append("<table>\n<thead><tr>");
        for (String header : table.headers()) {
            html.append("<th>").append(escape(header)).append("</th>");
        }
        html.append("</tr></thead>\n<tbody>\n");
        for (int r = 0; r < table.rows().size(); r++) {
            List<String> row = table.rows().get(r);
            html.append(r < originalRows ? "<tr class=\"original\">" : "<tr>");
            for (int c = 0; c < row.size(); c++) {
                html.append(c < nameColumns ? "<td>" : "<td class=\"num\">").append(escape(row.get(c)))
                        .append("</td>");
            }
            html.append("</tr>\n");
        }
        html.append("</tbody>\n</table>\n");
    }

    private static void appendChart(StringBuilder html, String alt, byte[] png) {
        html.append("<img class=\"chart\" width=\"").append(ReportCharts.WIDTH).append("\" height=\"")
                .append(ReportCharts.HEIGHT).append("\" alt=\"").append(escape(alt))
                .append("\" src=\"data:image/png;base64,").append(Base64.getEncoder().encodeToString(png))
                .append("\">\n");
    }

    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
