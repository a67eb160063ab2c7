package io.falconq.cli.report;

import io.falconq.formats.io.AtomicOutput;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** {@code report.md}: the evaluation setup, then one table per model. */
public final class MarkdownReport {
    public static final String FILE_NAME = "report.md";

    private MarkdownReport() {
    }

    public static String render(Report report) {
        StringBuilder md = new StringBuilder();
        md.append("# falconq report\n\n");
        EvaluationSetup eval = report.evaluation();
        md.append("Every number below was measured by falconq ").append(report.toolVersion())
                .append(" on the same ").append(eval.scoredTokens()).append(" scored tokens of ")
                .append(code(eval.dataset())).append(" (SHA-256 ").append(code(eval.datasetSha256())).append("): ")
                .append(eval.chunks()).append(" windows of ").append(eval.contextLength()).append(" tokens, ")
                .append(eval.protocol()).append(" protocol. ΔPPL and KLD are relative to the original model; ")
                .append("KLD is in nats per position; Top-1 is the share of positions whose most likely token ")
                .append("is unchanged.\n\n");
        String texts = ReportSentences.texts(eval);
        if (texts != null) {
            md.append(escape(texts)).append("\n\n");
        }
        md.append("Created ").append(report.createdAt()).append(" · report schema version ")
                .append(report.schemaVersion()).append("\n");
        for (ModelReport model : report.models()) {
            md.append("\n## ").append(escape(model.name())).append("\n\n");
            md.append("Source ").append(code(model.source().path())).append(" (config SHA-256 ")
                    .append(code(model.source().configSha256())).append("), ")
                    .append(String.format(java.util.Locale.ROOT, "%,d", model.parameterCount()))
                    .append(" parameters.\n\n");
            String calibration = ReportSentences.calibration(model.calibration());
            if (calibration != null) {
                md.append(escape(calibration)).append("\n\n");
            }
            appendTable(md, ModelTable.of(model), 3);
            ModelTable languages = ModelTable.perLanguage(model);
            if (languages != null) {
                md.append("\n### Per language\n\n");
                appendTable(md, languages, 2);
            }
            List<String> allocations = ReportSentences.allocations(model);
            if (!allocations.isEmpty()) {
                md.append('\n');
                allocations.forEach(line -> md.append("- ").append(escape(line)).append('\n'));
            }
        }
        return md.toString();
    }

    /** A table whose first {@code nameColumns} columns are left-aligned names and the rest right-aligned numbers. */
    private static void appendTable(StringBuilder md, ModelTable table, int nameColumns) {
        appendRow(md, table.headers());
        md.append('|');
        for (int i = 0; i < table.headers().size(); i++) {
            md.append(i < nameColumns ? " --- |" : " ---: |");
        }
        md.append('\n');
        for (List<String> row : table.rows()) {
            appendRow(md, row);
        }
    }

    public static void write(Report report, Path file, boolean force) {
        AtomicOutput.writeBytes(file, render(report).getBytes(StandardCharsets.UTF_8), force);
    }

    private static void appendRow(StringBuilder md, List<String> cells) {
        md.append('|');
        for (String cell : cells) {
            md.append(' ').append(escape(cell)).append(" |");
        }
        md.append('\n');
    }

    /** An inline code span; a backtick inside would end it early, so it becomes a quote. */
    static String code(String text) {
        return "`" + text.replace('`', '\'').replace("\n", " ") + "`";
    }

    /** Characters that would break a table cell or start Markdown markup inside one. */
    static String escape(String text) {
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ");
    }
}
