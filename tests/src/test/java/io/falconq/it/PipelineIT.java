package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.safetensors.SafetensorsReader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code falconq pipeline} on the tiny model with nine variants: a first run killed with SIGKILL part-way, a
 * resumed run that redoes nothing already done, a third run that does nothing at all; then every reported number
 * against the single commands ({@code convert}, {@code calibrate}, {@code quantize}, {@code eval}) run on their own.
 * Two evaluation windows and four calibration chunks keep it to about a minute on 2 cores.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipelineIT {
    private static final Path TINY = CliRun.shared("models/falcon-h1-tiny");
    private static final Path VALID = CliRun.shared("corpus/valid.txt");
    private static final String MODEL = "falcon-h1-tiny";
    private static final List<String> VARIANTS = List.of("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_K_M-imatrix",
            "Q3_K_M", "Q2_K", "w8", "w4-gptq");
    /** Steps finished by the first run before it is killed. */
    private static final int KILL_AFTER_DONE = 6;
    /** A step event line: "[ 3/20] done  LABEL in 1.2 s", "[ 3/20] run   LABEL (reason)", "[ 3/20] skip  LABEL (reason)". */
    private static final Pattern EVENT = Pattern.compile("^\\[\\s*\\d+/\\d+\\] (?:(done)  (.+) in [0-9.]+ s|(run|skip)\\s+(.+) \\([^()]*\\))$");

    private Path tmp;
    private Path dist;
    private List<String> firstRunDone;
    private Map<String, FileTime> artifactTimesAfterKill;
    private CliRun resumed;
    private CliRun unchanged;
    private JsonNode report;

    private Object[] pipelineArgs() {
        return new Object[]{"pipeline", "--model", TINY, "--variants", String.join(",", VARIANTS), "--eval-data", VALID,
                "--chunks", 2, "--calib-chunks", 4, "--threads", 2, "-o", dist};
    }

    @BeforeAll
    void runKillResumeAndRerun(@TempDir Path tmp) throws Exception {
        this.tmp = tmp;
        dist = tmp.resolve("dist");

        // 1. a separate JVM, killed without warning once KILL_AFTER_DONE steps have finished
        firstRunDone = new ArrayList<>();
        CliRun.killedAt(line -> {
            Matcher m = EVENT.matcher(line);
            if (m.matches() && m.group(1) != null) {
                firstRunDone.add(m.group(2));
            }
            return firstRunDone.size() == KILL_AFTER_DONE;
        }, List.of("-Xmx2g"), pipelineArgs());
        assertFalse(Files.exists(dist.resolve("report.json")), "the killed run must not have reached the report");
        assertEveryVisibleArtifactIsComplete();
        artifactTimesAfterKill = recordedOutputTimes();
        assertFalse(artifactTimesAfterKill.isEmpty(), "the killed run recorded finished artifacts");

        // 2. resume in this JVM
        resumed = CliRun.of(pipelineArgs());
        assertEquals(0, resumed.exitCode(), resumed::describe);
        // 3. nothing left to do
        unchanged = CliRun.of(pipelineArgs());
        assertEquals(0, unchanged.exitCode(), unchanged::describe);
        report = CliRun.readJson(dist.resolve("report.json"));
    }

    /** Label → kind ("skip", "run", "done") of each step event in a run's stderr. */
    private static Map<String, List<String>> events(CliRun run) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String line : run.err().lines().toList()) {
            Matcher m = EVENT.matcher(line);
            if (m.matches()) {
                String label = m.group(1) != null ? m.group(2) : m.group(4);
                String kind = m.group(1) != null ? m.group(1) : m.group(3);
                out.computeIfAbsent(label, k -> new ArrayList<>()).add(kind);
            }
        }
        return out;
    }

    @Test
    void theResumedRunSkipsEveryStepTheKilledRunFinished() {
        Map<String, List<String>> events = events(resumed);
        assertEquals(1 + 1 + 2 * VARIANTS.size(), events.size(), resumed::describe);
        for (String label : firstRunDone) {
            assertEquals(List.of("skip"), events.get(label), label + " was finished before the kill");
        }
        long ran = events.values().stream().filter(k -> k.contains("done")).count();
        assertEquals(events.size() - firstRunDone.size(), ran, "every other step ran once");
        // the artifacts recorded before the kill were not rewritten
        artifactTimesAfterKill.forEach((path, time) -> {
            try {
                Path file = dist.resolve(path);
                assertEquals(time, Files.getLastModifiedTime(Files.isDirectory(file)
                        ? file.resolve("model.safetensors") : file), path + " was rewritten");
            } catch (IOException e) {
                throw new AssertionError(path + ": " + e);
            }
        });
    }

    @Test
    void aThirdRunDoesNothing() {
        Map<String, List<String>> events = events(unchanged);
        assertTrue(events.values().stream().allMatch(k -> k.equals(List.of("skip"))), unchanged::describe);
        assertTrue(unchanged.out().contains("0 steps run, 20 unchanged"), unchanged.out());
    }

    @Test
    void noPartialFileIsLeftAndTheManifestListsEveryArtifactWithItsHash() throws Exception {
        try (Stream<Path> walk = Files.walk(tmp)) {
            assertEquals(List.of(), walk.filter(p -> p.getFileName().toString().contains(".partial-")).toList());
        }
        JsonNode manifest = CliRun.readJson(dist.resolve("manifest.json"));
        Map<String, JsonNode> listed = new HashMap<>();
        manifest.get("artifacts").forEach(a -> listed.put(a.get("path").asText(), a));
        for (String variant : VARIANTS) {
            String path = variant.startsWith("w") ? MODEL + "/" + MODEL + "-" + variant + "/model.safetensors"
                    : MODEL + "/" + MODEL + "-" + variant + ".gguf";
            JsonNode entry = listed.get(path);
            assertTrue(entry != null, path + " missing from the manifest");
            assertEquals(Files.size(dist.resolve(path)), entry.get("size").asLong(), path);
            assertEquals(sha256(dist.resolve(path)), entry.get("sha256").asText(), path);
        }
        assertTrue(listed.containsKey("report.html") && listed.containsKey(MODEL + "/" + MODEL + "-imatrix.gguf"));
        assertTrue(listed.keySet().stream().noneMatch(p -> p.startsWith(".falconq")), "resume state is not published");
    }

    private JsonNode variantReport(String name) {
        for (JsonNode v : report.get("models").get(0).get("variants")) {
            if (v.get("name").asText().equals(name)) {
                return v;
            }
        }
        throw new AssertionError("no variant " + name + " in report.json");
    }

    @Test
    void ggufArtifactsAreTheBytesFalconqConvertWrites() throws Exception {
        for (String type : List.of("Q4_K_M", "Q2_K")) {
            Path single = tmp.resolve("single-" + type + ".gguf");
            CliRun run = CliRun.of("convert", TINY, "--type", type, "--name", MODEL, "-o", single, "-q");
            assertEquals(0, run.exitCode(), run::describe);
            JsonNode v = variantReport(type);
            assertEquals(sha256(single), v.get("artifact").get("sha256").asText(), type);
            assertEquals(Files.size(single), v.get("fileSizeBytes").asLong(), type);
        }
    }

    @Test
    void theImatrixAndTheInt8FolderAreWhatCalibrateAndQuantizeWrite() throws Exception {
        Path imatrix = tmp.resolve("single-imatrix.gguf");
        CliRun calibrate = CliRun.of("calibrate", TINY, "--data", "builtin:en", "--chunks", 4, "-o", imatrix, "-q");
        assertEquals(0, calibrate.exitCode(), calibrate::describe);
        assertEquals(sha256(imatrix), sha256(dist.resolve(MODEL + "/" + MODEL + "-imatrix.gguf")),
                "one calibration pass feeding imatrix and GPTQ statistics gives calibrate's own imatrix");

        Path w8 = tmp.resolve("single-w8");
        CliRun quantize = CliRun.of("quantize", TINY, "--scheme", "w8", "-o", w8, "-q");
        assertEquals(0, quantize.exitCode(), quantize::describe);
        assertEquals(sha256(w8.resolve("model.safetensors")), variantReport("w8").get("artifact").get("sha256").asText());

        // GPTQ: Hessians summed in a fixed lane order (LaneSum), so the bytes do not depend on the JIT state either
        Path w4 = tmp.resolve("single-w4-gptq");
        CliRun gptq = CliRun.of("quantize", TINY, "--scheme", "w4", "--method", "gptq", "--data", "builtin:en",
                "--chunks", 4, "-o", w4, "-q");
        assertEquals(0, gptq.exitCode(), gptq::describe);
        assertEquals(sha256(w4.resolve("model.safetensors")),
                variantReport("w4-gptq").get("artifact").get("sha256").asText(),
                "the pipeline's w4-gptq variant is what falconq quantize --method gptq writes");
    }

    @Test
    void everyReportedAccuracyNumberIsWhatFalconqEvalPrints() {
        Path logits = dist.resolve(".falconq/" + MODEL + "/original.logits");
        for (String name : List.of("Q4_K_M", "w4-gptq")) {
            JsonNode v = variantReport(name);
            Path artifact = dist.resolve(v.get("artifact").get("path").asText());
            Path model = name.startsWith("w") ? artifact.getParent() : artifact;
            CliRun eval = CliRun.of("eval", model, "--baseline", logits, "--json", "-q");
            assertEquals(0, eval.exitCode(), eval::describe);
            JsonNode e = eval.json();
            JsonNode kl = e.get("kl");
            // the same computation on the same tokens: equal, not merely close
            assertEquals(e.get("ppl").asDouble(), v.get("ppl").asDouble(), name + " ppl");
            assertEquals(e.get("ppl_stderr").asDouble(), v.get("pplError").asDouble(), name + " ppl error");
            assertEquals(kl.get("delta_ppl").asDouble(), v.get("deltaPpl").asDouble(), name + " Δppl");
            assertEquals(kl.get("delta_ppl_stderr").asDouble(), v.get("deltaPplError").asDouble(), name + " Δppl error");
            assertEquals(kl.get("mean_kld").asDouble(), v.get("kld").get("mean").asDouble(), name + " KLD");
            assertEquals(kl.get("median_kld").asDouble(), v.get("kld").get("median").asDouble(), name + " KLD median");
            assertEquals(kl.get("p99_kld").asDouble(), v.get("kld").get("p99").asDouble(), name + " KLD p99");
            assertEquals(kl.get("max_kld").asDouble(), v.get("kld").get("max").asDouble(), name + " KLD max");
            assertEquals(100 * kl.get("same_top1").asDouble(), v.get("top1Percent").asDouble(), 1e-12, name + " top-1");
            assertEquals(e.get("scored_tokens").asLong(), report.get("evaluation").get("scoredTokens").asLong());
        }
        CliRun base = CliRun.of("eval", TINY, "--data", VALID, "--chunks", 2, "--json", "-q");
        assertEquals(0, base.exitCode(), base::describe);
        JsonNode baseline = report.get("models").get(0).get("baseline");
        assertEquals(base.json().get("ppl").asDouble(), baseline.get("ppl").asDouble(), "original ppl");
        assertEquals(base.json().get("ppl_stderr").asDouble(), baseline.get("pplError").asDouble(), "original ppl error");
    }

    @Test
    void theHtmlReportRendersBothChartsInChromium() throws Exception {
        Path browserDir = Files.createDirectories(tmp.resolve("chromium"));
        String dom = new HeadlessChromium(browserDir).dumpDom(dist.resolve("report.html"));
        assertTrue(dom.contains("data-charts-total=\"2\"") && dom.contains("data-charts-loaded=\"2\""),
                "both charts of the one model decode in the browser");
        for (String variant : VARIANTS) {
            assertTrue(dom.contains("<td>" + variant + "</td>"), variant + " row");
        }
    }

    /** Every GGUF and safetensors file in dist that is not a temporary opens and validates completely. */
    private void assertEveryVisibleArtifactIsComplete() throws IOException {
        try (Stream<Path> walk = Files.walk(dist.resolve(MODEL))) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                String rel = dist.relativize(p).toString();
                if (rel.contains(".partial-")) {
                    continue;
                }
                if (rel.endsWith(".gguf")) {
                    GgufReader.open(p).close();
                } else if (rel.endsWith(".safetensors")) {
                    SafetensorsReader.open(p).close();
                }
            }
        }
    }

    /** Modification time of every output the pipeline's step records list as finished. */
    private Map<String, FileTime> recordedOutputTimes() throws IOException {
        Map<String, FileTime> out = new HashMap<>();
        try (Stream<Path> walk = Files.walk(dist.resolve(".falconq/steps"))) {
            for (Path record : walk.filter(p -> p.toString().endsWith(".json")).toList()) {
                for (JsonNode output : CliRun.readJson(record).get("outputs")) {
                    Path file = dist.resolve(output.get("path").asText());
                    out.put(output.get("path").asText(), Files.getLastModifiedTime(Files.isDirectory(file)
                            ? file.resolve("model.safetensors") : file));
                }
            }
        }
        return out;
    }

    static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        digest.update(Files.readAllBytes(file));
        return HexFormat.of().formatHex(digest.digest());
    }
}
