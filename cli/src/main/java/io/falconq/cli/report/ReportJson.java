package io.falconq.cli.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code report.json}: the {@link Report} record as JSON (schema in {@code docs/report-schema.md} and
 * {@code docs/report-schema.json}). Field order is the record component order and map keys are sorted, so the
 * same report always gives the same bytes.
 */
public final class ReportJson {
    public static final String FILE_NAME = "report.json";

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            // additive schema changes keep the version; an older reader skips fields it does not know
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .build();

    private ReportJson() {
    }

    public static String render(Report report) {
        try {
            return MAPPER.writeValueAsString(report) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("report is not serialisable: " + e.getMessage(), e);
        }
    }

    public static void write(Report report, Path file, boolean force) {
        AtomicOutput.writeBytes(file, render(report).getBytes(StandardCharsets.UTF_8), force);
    }

    /** Reads and validates a report; a newer schema version or a malformed file is an {@link InvalidInputException}. */
    public static Report read(Path file) {
        return parse(InputFiles.readAll(file, InputFiles.MAX_JSON_BYTES), file.toString());
    }

    static Report parse(byte[] bytes, String source) {
        JsonNode root;
        try {
            root = MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new InvalidInputException(source + ": not valid JSON: " + e.getOriginalMessage()
                    + " at line " + e.getLocation().getLineNr(), e);
        } catch (IOException e) {
            throw new InvalidInputException(source + ": cannot parse: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new InvalidInputException(source + ": expected a JSON object, found "
                    + (root == null ? "nothing" : root.getNodeType()));
        }
        JsonNode tool = root.get("tool");
        if (tool == null || !Report.TOOL.equals(tool.asText())) {
            throw new InvalidInputException(source + ": \"tool\" expected \"" + Report.TOOL + "\", found "
                    + tool + " (not a falconq report?)");
        }
        JsonNode version = root.get("schemaVersion");
        if (version == null || !version.isInt()) {
            throw new InvalidInputException(source + ": \"schemaVersion\" expected an integer, found " + version);
        }
        if (version.intValue() != Report.SCHEMA_VERSION) {
            throw new InvalidInputException(source + ": report schema version expected " + Report.SCHEMA_VERSION
                    + ", found " + version.intValue()
                    + (version.intValue() > Report.SCHEMA_VERSION ? " (written by a newer falconq; upgrade)" : ""));
        }
        try {
            return MAPPER.treeToValue(root, Report.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            String what = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
            throw new InvalidInputException(source + ": invalid report: " + what, e);
        }
    }

}
