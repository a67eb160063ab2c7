package io.falconq.cli.report;

import io.falconq.formats.io.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportJsonTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsThroughTheFileUnchanged() {
        Report report = SampleReports.tinyReport();
        Path file = dir.resolve("report.json");
        ReportJson.write(report, file, false);
        assertEquals(report, ReportJson.read(file));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left beside report.json");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aMultilingualReportRoundTrips(@TempDir Path dir) {
        Report report = SampleReports.multilingualReport();
        Path file = dir.resolve("report.json");
        ReportJson.write(report, file, false);
        assertEquals(report, ReportJson.read(file));
    }

    @Test
    void writesFieldsInRecordOrderWithVersionFirst() {
        String json = ReportJson.render(SampleReports.tinyReport());
        assertTrue(json.startsWith("{\n  \"schemaVersion\" : " + Report.SCHEMA_VERSION
                + ",\n  \"tool\" : \"falconq\","), json);
        assertTrue(json.contains("\"kind\" : \"gptq\""), json);
        // type mix keys sorted whatever the map given
        assertTrue(json.indexOf("\"BF16\"") < json.indexOf("\"gptq-int4\""), json);
    }

    @Test
    void rejectsANewerSchemaVersionNamingBothVersions() {
        int v = Report.SCHEMA_VERSION;
        String json = ReportJson.render(SampleReports.tinyReport()).replace("\"schemaVersion\" : " + v,
                "\"schemaVersion\" : " + (v + 1));
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> ReportJson.parse(json.getBytes(StandardCharsets.UTF_8), "dist/report.json"));
        assertTrue(e.getMessage().contains("dist/report.json: report schema version expected " + v + ", found "
                + (v + 1)), e.getMessage());
        assertTrue(e.getMessage().contains("newer falconq"), e.getMessage());
    }

    @Test
    void rejectsFilesThatAreNotFalconqReports() {
        assertThrows(InvalidInputException.class, () -> ReportJson.parse("[1,2]".getBytes(), "x.json"));
        assertThrows(InvalidInputException.class, () -> ReportJson.parse("{\"tool\":\"other\"}".getBytes(), "x.json"));
        InvalidInputException truncated = assertThrows(InvalidInputException.class,
                () -> ReportJson.parse("{\"tool\":\"falconq\",\"schemaVersion\":1,".getBytes(), "x.json"));
        assertTrue(truncated.getMessage().startsWith("x.json: not valid JSON"), truncated.getMessage());
    }

    @Test
    void rejectsAMissingRequiredField() {
        String json = ReportJson.render(SampleReports.tinyReport()).replaceFirst("\"ppl\" : 64\\.0601,", "");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> ReportJson.parse(json.getBytes(StandardCharsets.UTF_8), "r.json"));
        assertTrue(e.getMessage().contains("ppl"), e.getMessage());
    }

    @Test
    void ignoresFieldsAddedByALaterMinorChange() {
        String json = ReportJson.render(SampleReports.tinyReport()).replace("\"tool\" : \"falconq\",",
                "\"tool\" : \"falconq\", \"futureField\" : [1],");
        assertEquals(SampleReports.tinyReport(), ReportJson.parse(json.getBytes(StandardCharsets.UTF_8), "r.json"));
    }

    @Test
    void refusesNonFiniteNumbersWhichJsonCannotHold() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SampleReports.variant("Q4_0", VariantReport.Kind.GGUF, 10, 4.5, Double.NaN, 0, 0, 90));
        assertTrue(e.getMessage().contains("Q4_0: ppl must be finite"), e.getMessage());
    }

    @Test
    void createdAtFollowsSourceDateEpoch() {
        Instant now = Instant.parse("2030-05-06T07:08:09.123Z");
        assertEquals("2030-05-06T07:08:09Z", ReportClock.createdAt(Map.of(), now));
        // 1700000000 s = 2023-11-14T22:13:20Z (date -u -d @1700000000)
        assertEquals("2023-11-14T22:13:20Z", ReportClock.createdAt(Map.of("SOURCE_DATE_EPOCH", "1700000000"), now));
        assertThrows(IllegalArgumentException.class,
                () -> ReportClock.createdAt(Map.of("SOURCE_DATE_EPOCH", "yesterday"), now));
    }
}
