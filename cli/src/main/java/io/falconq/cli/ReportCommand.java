package io.falconq.cli;

import io.falconq.cli.options.OutputPath;
import io.falconq.cli.options.VerbosityMixin;
import io.falconq.cli.report.HtmlReport;
import io.falconq.cli.report.Manifest;
import io.falconq.cli.report.MarkdownReport;
import io.falconq.cli.report.Report;
import io.falconq.cli.report.ReportFiles;
import io.falconq.cli.report.ReportJson;
import io.falconq.formats.io.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code falconq report DIST}: re-renders a pipeline folder's Markdown, HTML and manifest from its report.json. */
@Command(name = "report",
        description = {"Re-render " + MarkdownReport.FILE_NAME + ", " + HtmlReport.FILE_NAME + " and "
                + Manifest.FILE_NAME + " of a pipeline output folder from its " + ReportJson.FILE_NAME + ".",
                "Nothing is measured again; the derived files are replaced atomically."})
public final class ReportCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private VerbosityMixin verbosity;

    @OutputPath
    @Parameters(paramLabel = "DIST", description = "Folder written by 'falconq pipeline -o DIST'.")
    private Path dist;

    @Override
    public Integer call() {
        if (!Files.isDirectory(dist)) {
            throw new InvalidInputException(dist + ": not a folder (expected the output folder of falconq pipeline)");
        }
        Report report = ReportFiles.rerender(dist);
        if (!verbosity.quiet()) {
            int variants = report.models().stream().mapToInt(m -> m.variants().size()).sum();
            spec.commandLine().getOut().printf("%s: wrote %s, %s, %s (%d model%s, %d variant%s)%n", dist,
                    MarkdownReport.FILE_NAME, HtmlReport.FILE_NAME, Manifest.FILE_NAME, report.models().size(),
                    report.models().size() == 1 ? "" : "s", variants, variants == 1 ? "" : "s");
        }
        return ExitCodes.OK;
    }
}
