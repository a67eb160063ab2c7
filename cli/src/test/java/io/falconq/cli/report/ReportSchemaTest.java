package io.falconq.cli.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The documented schema ({@code docs/report-schema.json} and {@code .md}) and what {@link ReportJson} writes must
 * agree. There is no JSON Schema library on the classpath, so {@link #validate} checks the subset of JSON Schema
 * 2020-12 that file uses, and a field the schema does not declare counts as an error here (the schema itself
 * allows unknown fields so that additive changes keep the version).
 */
class ReportSchemaTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path docs() {
        // surefire runs in the module folder; docs/ is at the repository root beside it
        Path docs = Path.of("").toAbsolutePath().getParent().resolve("docs");
        if (!Files.isRegularFile(docs.resolve("report-schema.json"))) {
            fail("docs/report-schema.json not found under " + docs + " (tests must run from the cli module folder)");
        }
        return docs;
    }

    @Test
    void writtenReportValidatesAgainstTheDocumentedSchema() throws IOException {
        JsonNode schema = JSON.readTree(docs().resolve("report-schema.json").toFile());
        for (Report r : List.of(SampleReports.tinyReport(), SampleReports.multilingualReport())) {
            JsonNode report = JSON.readTree(ReportJson.render(r));
            List<String> errors = new ArrayList<>();
            validate(schema, schema, report, "$", errors);
            assertEquals(List.of(), errors);
        }
    }

    @Test
    void theValidatorCatchesWrongTypesMissingAndUndeclaredFields() throws IOException {
        JsonNode schema = JSON.readTree(docs().resolve("report-schema.json").toFile());
        ObjectNode report = (ObjectNode) JSON.readTree(ReportJson.render(SampleReports.tinyReport()));
        ObjectNode variant = (ObjectNode) report.get("models").get(0).get("variants").get(0);
        variant.put("ppl", "64.1");
        variant.remove("kld");
        variant.put("surprise", 1);
        ((ObjectNode) report.get("evaluation")).put("datasetSha256", "ABC");
        List<String> errors = new ArrayList<>();
        validate(schema, schema, report, "$", errors);
        assertEquals(java.util.Set.of(
                "$.evaluation.datasetSha256: \"ABC\" does not match ^[0-9a-f]{64}$",
                "$.models[0].variants[0]: missing required kld",
                "$.models[0].variants[0].ppl: expected number, found \"64.1\"",
                "$.models[0].variants[0].surprise: not declared in the schema"), java.util.Set.copyOf(errors));
        assertEquals(4, errors.size(), errors::toString);
    }

    @Test
    void everyFieldIsDocumentedInTheMarkdown() throws IOException {
        String md = Files.readString(docs().resolve("report-schema.md"));
        List<String> undocumented = new ArrayList<>();
        for (Report r : List.of(SampleReports.tinyReport(), SampleReports.multilingualReport())) {
            collectFieldNames(JSON.readTree(ReportJson.render(r)), "", undocumented, md);
        }
        assertEquals(List.of(), undocumented);
        assertTrue(md.contains("# `report.json` — schema version " + Report.SCHEMA_VERSION), "title names the version");
        assertFalse(undocumented.contains("typeMix"));
    }

    private static void collectFieldNames(JsonNode node, String parent, List<String> undocumented, String md) {
        if (node.isArray()) {
            node.forEach(item -> collectFieldNames(item, parent, undocumented, md));
            return;
        }
        if (!node.isObject() || List.of("typeMix", "types", "referenceDeltaKld").contains(parent)) {
            return; // typeMix keys are type names, an allocation's maps' keys tensor names: not fields
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            Pattern documented = Pattern.compile("\\| `(?:[a-zA-Z]+\\.)?" + Pattern.quote(name) + "` \\|");
            boolean objectDocumentedByItsFields = field.getValue().isObject() && md.contains("| `" + name + ".");
            if (!documented.matcher(md).find() && !objectDocumentedByItsFields && !md.contains("### `" + name + "`")
                    && !md.contains("### `models[]." + name + "[]`") && !undocumented.contains(name)) {
                undocumented.add(name);
            }
            collectFieldNames(field.getValue(), name, undocumented, md);
        }
    }

    /** The JSON Schema keywords report-schema.json uses, nothing more. */
    static void validate(JsonNode root, JsonNode schema, JsonNode value, String at, List<String> errors) {
        if (schema.has("$ref")) {
            String ref = schema.get("$ref").asText();
            if (!ref.startsWith("#/$defs/")) {
                throw new IllegalArgumentException("unsupported $ref " + ref);
            }
            validate(root, root.get("$defs").get(ref.substring("#/$defs/".length())), value, at, errors);
            return;
        }
        if (schema.has("anyOf")) {
            List<String> firstErrors = null;
            for (JsonNode option : schema.get("anyOf")) {
                List<String> optionErrors = new ArrayList<>();
                validate(root, option, value, at, optionErrors);
                if (optionErrors.isEmpty()) {
                    return;
                }
                firstErrors = firstErrors == null ? optionErrors : firstErrors;
            }
            errors.add(at + ": matches no anyOf option (first: " + firstErrors + ")");
            return;
        }
        if (schema.has("const") && !schema.get("const").equals(value)) {
            errors.add(at + ": expected " + schema.get("const") + ", found " + value);
        }
        if (schema.has("enum")) {
            boolean found = false;
            for (JsonNode option : schema.get("enum")) {
                found |= option.equals(value);
            }
            if (!found) {
                errors.add(at + ": " + value + " not one of " + schema.get("enum"));
            }
        }
        if (schema.has("type")) {
            String type = schema.get("type").asText();
            boolean ok = switch (type) {
                case "object" -> value.isObject();
                case "array" -> value.isArray();
                case "string" -> value.isTextual();
                case "integer" -> value.isIntegralNumber();
                case "number" -> value.isNumber();
                case "boolean" -> value.isBoolean();
                case "null" -> value.isNull();
                default -> throw new IllegalArgumentException("unsupported type " + type);
            };
            if (!ok) {
                errors.add(at + ": expected " + type + ", found " + value);
                return;
            }
        }
        if (schema.has("pattern") && value.isTextual()
                && !Pattern.compile(schema.get("pattern").asText()).matcher(value.asText()).find()) {
            errors.add(at + ": " + value + " does not match " + schema.get("pattern").asText());
        }
        if (schema.has("minimum") && value.isNumber() && value.asDouble() < schema.get("minimum").asDouble()) {
            errors.add(at + ": " + value + " < minimum " + schema.get("minimum"));
        }
        if (schema.has("exclusiveMinimum") && value.isNumber()
                && value.asDouble() <= schema.get("exclusiveMinimum").asDouble()) {
            errors.add(at + ": " + value + " <= exclusiveMinimum " + schema.get("exclusiveMinimum"));
        }
        if (schema.has("maximum") && value.isNumber() && value.asDouble() > schema.get("maximum").asDouble()) {
            errors.add(at + ": " + value + " > maximum " + schema.get("maximum"));
        }
        if (value.isObject()) {
            if (schema.has("required")) {
                for (JsonNode required : schema.get("required")) {
                    if (!value.has(required.asText())) {
                        errors.add(at + ": missing required " + required.asText());
                    }
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                JsonNode properties = schema.get("properties");
                if (properties != null && properties.has(field.getKey())) {
                    validate(root, properties.get(field.getKey()), field.getValue(), at + "." + field.getKey(), errors);
                } else if (schema.has("additionalProperties")) {
                    validate(root, schema.get("additionalProperties"), field.getValue(), at + "." + field.getKey(), errors);
                } else {
                    errors.add(at + "." + field.getKey() + ": not declared in the schema");
                }
            }
        }
        if (value.isArray() && schema.has("items")) {
            for (int i = 0; i < value.size(); i++) {
                validate(root, schema.get("items"), value.get(i), at + "[" + i + "]", errors);
            }
        }
    }
}
