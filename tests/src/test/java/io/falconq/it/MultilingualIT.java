package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.calibration.CalibrationSets;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufReader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 17 on the tiny model: {@code pipeline --eval-data builtin:multi --calib-data builtin:multi} with one window
 * of 32 tokens per language and one calibration sequence per language, so it takes seconds. Its per-language rows
 * against their overall figures and against {@code falconq eval} run on its own; the calibration record in the
 * report, the imatrix and the GPTQ folder; and llama.cpp's own llama-quantize reading that imatrix.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultilingualIT {
    private static final Path TINY = CliRun.shared("models/falcon-h1-tiny");
    private static final String MODEL = "falcon-h1-tiny";
    private static final List<String> VARIANTS = List.of("Q4_K_M-imatrix", "w4-clip");
    /**
     * Relative tolerance of "overall = token-weighted mean of the rows": the overall mean sums the same per-token
     * values in another order than the rows' means times their counts, so only double rounding separates them.
     */
    private static final double POOLING_TOLERANCE = 1e-12;

    private Path tmp;
    private Path dist;
    private JsonNode report;

    @BeforeAll
    void runPipeline(@TempDir Path tmp) {
        this.tmp = tmp;
        dist = tmp.resolve("dist");
        CliRun run = CliRun.of("pipeline", "--model", TINY, "--variants", String.join(",", VARIANTS),
                "--eval-data", "builtin:multi", "--ctx", 32, "--chunks", 1, "--calib-data", "builtin:multi",
                "--calib-ctx", 32, "--calib-chunks", CalibrationSets.languages().size(), "-t", 2, "-q", "-o", dist);
        assertEquals(0, run.exitCode(), run.describe());
        report = CliRun.readJson(dist.resolve("report.json"));
    }

    @Test
    void everyLanguageHasARowAndTheOverallFiguresAreTheTokenWeightedMeansOfTheRows() {
        JsonNode eval = report.get("evaluation");
        List<String> languages = new ArrayList<>();
        eval.get("texts").forEach(t -> languages.add(t.get("language").asText()));
        assertEquals(CalibrationSets.languages(), languages);
        for (JsonNode t : eval.get("texts")) {
            assertEquals("builtin:" + t.get("language").asText() + "-eval", t.get("dataset").asText(),
                    "builtin:multi evaluates on the held-out texts");
        }
        long tokens = sum(eval.get("texts"), "scoredTokens");
        assertEquals(eval.get("scoredTokens").asLong(), tokens);
        JsonNode model = report.get("models").get(0);
        JsonNode baseline = model.get("baseline");
        assertEquals(languages.size(), baseline.get("languages").size());
        assertClose(Math.log(baseline.get("ppl").asDouble()),
                weighted(baseline.get("languages"), l -> Math.log(l.get("ppl").asDouble())) / tokens, "baseline ln ppl");
        for (JsonNode v : model.get("variants")) {
            JsonNode rows = v.get("languages");
            String name = v.get("name").asText();
            assertEquals(languages.size(), rows.size(), name);
            assertEquals(tokens, sum(rows, "scoredTokens"), name);
            assertClose(v.get("kld").get("mean").asDouble(),
                    weighted(rows, l -> l.get("kld").get("mean").asDouble()) / tokens, name + " KLD");
            assertClose(v.get("top1Percent").asDouble(), weighted(rows, l -> l.get("top1Percent").asDouble()) / tokens,
                    name + " top-1");
            assertClose(Math.log(v.get("ppl").asDouble()), weighted(rows, l -> Math.log(l.get("ppl").asDouble())) / tokens,
                    name + " ln ppl");
            double maxRow = 0;
            for (JsonNode l : rows) {
                maxRow = Math.max(maxRow, l.get("kld").get("max").asDouble());
            }
            assertEquals(maxRow, v.get("kld").get("max").asDouble(), name + ": the overall max is the rows' max");
        }
        String md = read(dist.resolve("report.md"));
        assertTrue(md.contains("| Q4_K_M-imatrix | ja | "), "per-language rows in report.md");
        assertTrue(read(dist.resolve("report.html")).contains("alt=\"KL divergence per language for " + MODEL + "\""));
    }

    @Test
    void theEvalCommandAgreesWithThePipelineOnEveryPerLanguageNumber() {
        Path base = tmp.resolve("original-logits");
        CliRun original = CliRun.of("eval", TINY, "--data", "builtin:multi", "--ctx", 32, "--chunks", 1,
                "--save-logits", base, "--json", "-t", 2, "-q");
        assertEquals(0, original.exitCode(), original.describe());
        JsonNode baseline = report.get("models").get(0).get("baseline");
        assertEquals(baseline.get("ppl").asDouble(), original.json().get("ppl").asDouble(), "overall ppl");
        for (int i = 0; i < baseline.get("languages").size(); i++) {
            JsonNode row = baseline.get("languages").get(i);
            JsonNode ours = original.json().get("languages").get(i);
            assertEquals(row.get("language").asText(), ours.get("language").asText());
            assertEquals(row.get("ppl").asDouble(), ours.get("ppl").asDouble(), row.get("language").asText());
            assertEquals(row.get("scoredTokens").asLong(), ours.get("scored_tokens").asLong());
        }
        for (JsonNode v : report.get("models").get(0).get("variants")) {
            Path artifact = dist.resolve(v.get("artifact").get("path").asText());
            if (v.get("kind").asText().equals("gptq")) {
                artifact = artifact.getParent();
            }
            CliRun run = CliRun.of("eval", artifact, "--baseline", base, "--json", "-t", 2, "-q");
            assertEquals(0, run.exitCode(), run.describe());
            JsonNode json = run.json();
            String name = v.get("name").asText();
            assertEquals(v.get("kld").get("mean").asDouble(), json.get("kl").get("mean_kld").asDouble(), name);
            for (int i = 0; i < v.get("languages").size(); i++) {
                JsonNode row = v.get("languages").get(i);
                JsonNode ours = json.get("languages").get(i);
                String at = name + " " + row.get("language").asText();
                assertEquals(row.get("language").asText(), ours.get("language").asText(), at);
                assertEquals(row.get("scoredTokens").asLong(), ours.get("scored_tokens").asLong(), at);
                assertEquals(row.get("ppl").asDouble(), ours.get("ppl").asDouble(), at + " ppl");
                assertEquals(row.get("pplError").asDouble(), ours.get("ppl_stderr").asDouble(), at + " ppl error");
                JsonNode kl = ours.get("kl");
                assertEquals(row.get("deltaPpl").asDouble(), kl.get("delta_ppl").asDouble(), at + " Δppl");
                assertEquals(row.get("kld").get("mean").asDouble(), kl.get("mean_kld").asDouble(), at + " KLD");
                assertEquals(row.get("kld").get("meanError").asDouble(), kl.get("mean_kld_stderr").asDouble(),
                        at + " KLD error");
                assertEquals(row.get("kld").get("p99").asDouble(), kl.get("p99_kld").asDouble(), at + " KLD p99");
                assertEquals(row.get("top1Percent").asDouble(), 100.0 * kl.get("same_top1").asDouble(), at + " top-1");
            }
        }
    }

    @Test
    void theCalibrationTokensAreRecordedInTheReportTheImatrixAndTheGptqFolder() throws IOException {
        JsonNode calibration = report.get("models").get(0).get("calibration");
        assertTrue(calibration.get("sampled").asBoolean());
        assertEquals("builtin:multi", calibration.get("data").asText());
        assertEquals(CalibrationSets.languages().size(), calibration.get("languages").size());
        for (JsonNode l : calibration.get("languages")) {
            assertEquals(1, l.get("sequences").asInt(), l.toString());
            assertEquals(32, l.get("tokens").asInt(), l.toString());
        }
        try (GgufFile imatrix = GgufReader.open(dist.resolve(MODEL).resolve(MODEL + "-imatrix.gguf"))) {
            GgufMetadata m = imatrix.metadata();
            assertEquals(calibration.get("tokensSha256").asText(), m.getString("falconq.calibration.tokens_sha256"));
            assertEquals(CalibrationSets.languages(), m.getStringArray("falconq.calibration.languages"));
            List<String> shas = new ArrayList<>();
            calibration.get("languages").forEach(l -> shas.add(l.get("tokensSha256").asText()));
            assertEquals(shas, m.getStringArray("falconq.calibration.language_tokens_sha256"));
            assertEquals(List.of("builtin:multi"), m.getStringArray("imatrix.datasets"));
        }
        JsonNode qc = CliRun.readJson(dist.resolve(MODEL).resolve(MODEL + "-w4-clip").resolve("quantize_config.json"));
        assertEquals(calibration, qc.get("meta").get("calibration"));

        // calibrate on its own makes the same tokens by the same rule
        Path alone = tmp.resolve("alone.imatrix.gguf");
        CliRun run = CliRun.of("calibrate", TINY, "--calib-data", "builtin:multi", "--ctx", 32, "--chunks",
                CalibrationSets.languages().size(), "-o", alone, "-t", 2, "-q");
        assertEquals(0, run.exitCode(), run.describe());
        try (GgufFile f = GgufReader.open(alone)) {
            assertEquals(calibration.get("tokensSha256").asText(),
                    f.metadata().getString("falconq.calibration.tokens_sha256"));
        }
    }

    @Test
    void llamaQuantizeReadsTheMultilingualImatrixAndMakesOurBytes() throws Exception {
        Path tool = LlamaTools.build("build-llama-quantize.sh", "llama-quantize");
        Path imatrix = dist.resolve(MODEL).resolve(MODEL + "-imatrix.gguf").toAbsolutePath();
        Path theirs = tmp.resolve("theirs.gguf");
        String log = LlamaTools.run(List.of(tool.toString(), "--imatrix", imatrix.toString(),
                CliRun.shared("llamacpp/tiny-F32.gguf").toString(), theirs.toString(), "Q4_K_M", "2"));
        assertTrue(log.contains("loaded 36 importance matrix entries"), log);
        Path ours = tmp.resolve("ours.gguf");
        CliRun run = CliRun.of("requantize", CliRun.shared("llamacpp/tiny-F32.gguf"), "--type", "Q4_K_M",
                "--imatrix", imatrix, "-o", ours, "-t", 2, "-q");
        assertEquals(0, run.exitCode(), run.describe());
        assertEquals(-1, Files.mismatch(ours, theirs), "llama-quantize with our multilingual imatrix == falconq");
    }

    private static long sum(JsonNode rows, String field) {
        long n = 0;
        for (JsonNode r : rows) {
            n += r.get(field).asLong();
        }
        return n;
    }

    private static double weighted(JsonNode rows, java.util.function.ToDoubleFunction<JsonNode> value) {
        double s = 0;
        for (JsonNode r : rows) {
            s += r.get("scoredTokens").asLong() * value.applyAsDouble(r);
        }
        return s;
    }

    private static void assertClose(double expected, double actual, String what) {
        assertTrue(Math.abs(expected - actual) <= POOLING_TOLERANCE * Math.max(1, Math.abs(expected)),
                what + ": " + expected + " vs " + actual);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
