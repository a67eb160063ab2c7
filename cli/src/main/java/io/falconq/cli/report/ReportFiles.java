package io.falconq.cli.report;

import java.nio.file.Path;

/**
 * Writes the report set of a dist folder: {@code report.json}, {@code report.md}, {@code report.html}, then
 * {@code manifest.json} last so it covers the other three. Each file is replaced atomically; these are derived
 * files, so an existing one is always overwritten.
 */
public final class ReportFiles {
    private ReportFiles() {
    }

    public static void writeAll(Report report, Path dist) {
        ReportJson.write(report, dist.resolve(ReportJson.FILE_NAME), true);
        renderFrom(report, dist);
    }

    /** {@code falconq report dist/}: re-renders the Markdown, HTML and manifest from {@code report.json}. */
    public static Report rerender(Path dist) {
        Report report = ReportJson.read(dist.resolve(ReportJson.FILE_NAME));
        renderFrom(report, dist);
        return report;
    }

    private static void renderFrom(Report report, Path dist) {
        MarkdownReport.write(report, dist.resolve(MarkdownReport.FILE_NAME), true);
        HtmlReport.write(report, dist.resolve(HtmlReport.FILE_NAME), true);
        Manifest.scan(dist).write(dist.resolve(Manifest.FILE_NAME), true);
    }
}
