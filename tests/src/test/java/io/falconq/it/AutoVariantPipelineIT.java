package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code falconq pipeline} with {@code Q4_K_M,auto@Q4_K_M-size} on the tiny model (two calibration chunks of 256, two
 * evaluation windows): the pipeline measures the sensitivities once, and its allocated GGUF is at most the Q4_K_M
 * file's size and byte-identical to what {@code falconq convert --target-size <that size> --sensitivity <the
 * pipeline's table> --imatrix <the pipeline's imatrix>} writes on its own; the report holds the allocation.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AutoVariantPipelineIT {
    private static final Path TINY = CliRun.shared("models/falcon-h1-tiny");
    private static final Path VALID = CliRun.shared("corpus/valid.txt");
    private static final String MODEL = "falcon-h1-tiny";
    private static final String AUTO = "auto@Q4_K_M-size";

    private Path tmp;
    private Path dist;
    private CliRun run;

    @BeforeAll
    void runPipeline(@TempDir Path tmp) {
        this.tmp = tmp;
        dist = tmp.resolve("dist");
        run = CliRun.of("pipeline", "--model", TINY, "--variants", "Q4_K_M," + AUTO, "--eval-data", VALID,
                "--chunks", 2, "--calib-ctx", 256, "--calib-chunks", 2, "--threads", 2, "-o", dist);
        assertEquals(0, run.exitCode(), run::describe);
    }

    private Path modelDir() {
        return dist.resolve(MODEL);
    }

    @Test
    void theAllocatedFileFitsQ4KMAndEqualsWhatConvertWritesFromThePipelinesTable() throws Exception {
        Path auto = modelDir().resolve(MODEL + "-auto-Q4_K_M-size.gguf");
        long stockSize = Files.size(modelDir().resolve(MODEL + "-Q4_K_M.gguf"));
        assertTrue(Files.size(auto) <= stockSize, Files.size(auto) + " > Q4_K_M's " + stockSize);

        // convert on its own, in a JVM whose working folder is the model's dist folder, so --imatrix is named as the
        // pipeline names it (the name is recorded in quantize.imatrix.file)
        Path out = tmp.resolve("convert-auto.gguf");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g",
                "-cp", System.getProperty("java.class.path"), "io.falconq.cli.FalconqCli",
                "convert", TINY.toAbsolutePath().toString(), "--target-size", Long.toString(stockSize),
                "--sensitivity", MODEL + "-sensitivity.json", "--imatrix", MODEL + "-imatrix.gguf",
                "--name", MODEL, "-t", "2", "-q", "-o", out.toString()));
        Process p = new ProcessBuilder(command).directory(modelDir().toFile())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("convert.log").toFile()).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "convert did not finish");
        assertEquals(0, p.exitValue(), () -> readLog());
        assertTrue(Arrays.equals(Files.readAllBytes(out), Files.readAllBytes(auto)),
                "the pipeline's auto GGUF differs from convert --target-size's");
    }

    private String readLog() {
        try {
            return Files.readString(tmp.resolve("convert.log"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    void aSecondRunRedoesNothingNotEvenTheMeasurement() {
        CliRun again = CliRun.of("pipeline", "--model", TINY, "--variants", "Q4_K_M," + AUTO, "--eval-data", VALID,
                "--chunks", 2, "--calib-ctx", 256, "--calib-chunks", 2, "--threads", 2, "-o", dist);
        assertEquals(0, again.exitCode(), again::describe);
        assertTrue(again.err().contains("skip  falcon-h1-tiny: measure sensitivities"), again.err());
        assertTrue(again.err().lines().noneMatch(l -> l.matches("^\\[\\s*\\d+/\\d+\\] run .*")), again.err());
    }

    @Test
    void theReportHoldsTheAllocationAsTheFileStoresIt() throws IOException {
        JsonNode report = CliRun.readJson(dist.resolve("report.json"));
        JsonNode variant = null;
        for (JsonNode v : report.get("models").get(0).get("variants")) {
            if (v.get("name").asText().equals(AUTO)) {
                variant = v;
            }
        }
        assertTrue(variant != null && variant.has("allocation"), "report.json lists " + AUTO + " with its allocation");
        JsonNode allocation = variant.get("allocation");
        long stockSize = Files.size(modelDir().resolve(MODEL + "-Q4_K_M.gguf"));
        assertEquals("size:" + stockSize, allocation.get("budget").asText());
        Map<String, String> reported = new TreeMap<>();
        allocation.get("types").fields().forEachRemaining(e -> reported.put(e.getKey(), e.getValue().asText()));
        Map<String, String> stored = new TreeMap<>();
        try (GgufFile f = GgufReader.open(modelDir().resolve(MODEL + "-auto-Q4_K_M-size.gguf"))) {
            for (GgufTensorInfo t : f.tensorInfos()) {
                if (reported.containsKey(t.name())) {
                    stored.put(t.name(), t.type().name());
                }
            }
        }
        assertTrue(reported.size() > 20, "every quantized tensor is listed: " + reported.size());
        assertEquals(reported, stored, "the reported types are the file's");
        assertTrue(allocation.get("predictedDeltaKld").asDouble() > 0, "a predicted ΔKLD");
        JsonNode sensitivity = allocation.get("referenceDeltaKld");
        assertTrue(sensitivity.size() > 20, "measured sensitivities of the tensors at the reference type");

        String md = Files.readString(dist.resolve("report.md"));
        assertTrue(md.contains(AUTO + ": budget"), "report.md has the auto variant's line:\n" + md);
        String html = Files.readString(dist.resolve("report.html"));
        assertTrue(html.contains("allocation-grid"), "report.html has the allocation picture");
    }
}
