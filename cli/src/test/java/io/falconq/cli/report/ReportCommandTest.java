package io.falconq.cli.report;

import io.falconq.cli.ExitCodes;
import io.falconq.cli.FalconqCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code falconq report DIST} through the CLI: exit codes and the one-line errors. */
class ReportCommandTest {
    @TempDir
    Path dist;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new FalconqCli().run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void rerendersTheDerivedFilesFromReportJson() throws IOException {
        ReportJson.write(SampleReports.tinyReport(), dist.resolve(ReportJson.FILE_NAME), false);
        Run r = run("report", dist.toString());
        assertEquals(ExitCodes.OK, r.code(), r.err());
        assertTrue(r.out().contains("wrote report.md, report.html, manifest.json (2 models, 6 variants)"), r.out());
        assertEquals(MarkdownReport.render(SampleReports.tinyReport()), Files.readString(dist.resolve(MarkdownReport.FILE_NAME)));
        assertTrue(Files.readString(dist.resolve(Manifest.FILE_NAME)).contains("\"path\" : \"report.html\""));
    }

    @Test
    void aMissingFolderOrReportIsInvalidInput() {
        Run missing = run("report", dist.resolve("nope").toString());
        assertEquals(ExitCodes.INVALID_INPUT, missing.code());
        assertTrue(missing.err().startsWith("error: " + dist.resolve("nope") + ": not a folder"), missing.err());
        Run empty = run("report", dist.toString());
        assertEquals(ExitCodes.INVALID_INPUT, empty.code());
        assertTrue(empty.err().contains("report.json: no such file"), empty.err());
    }

    /** A link in dist/ to a file outside is not published: the manifest neither follows nor lists it. */
    @Test
    void theManifestDoesNotFollowALinkOutOfTheFolder(@TempDir Path elsewhere) throws IOException {
        ReportJson.write(SampleReports.tinyReport(), dist.resolve(ReportJson.FILE_NAME), false);
        Path secret = Files.writeString(elsewhere.resolve("secret.txt"), "not for publishing");
        Files.createSymbolicLink(dist.resolve("model.gguf"), secret);
        Run r = run("report", dist.toString());
        assertEquals(ExitCodes.OK, r.code(), r.err());
        String manifest = Files.readString(dist.resolve(Manifest.FILE_NAME));
        assertTrue(manifest.contains("\"path\" : \"report.html\""), manifest);
        assertFalse(manifest.contains("model.gguf"), manifest);
        assertEquals("not for publishing", Files.readString(secret));
    }

    @Test
    void aNewerSchemaIsRefusedNamingBothVersions() throws IOException {
        int v = Report.SCHEMA_VERSION;
        Files.writeString(dist.resolve(ReportJson.FILE_NAME), "{\"tool\":\"falconq\",\"schemaVersion\":" + (v + 1) + "}");
        Run r = run("report", dist.toString());
        assertEquals(ExitCodes.INVALID_INPUT, r.code());
        assertTrue(r.err().contains("report schema version expected " + v + ", found " + (v + 1)), r.err());
        assertTrue(Files.notExists(dist.resolve(MarkdownReport.FILE_NAME)), "nothing rendered from a refused report");
    }
}
