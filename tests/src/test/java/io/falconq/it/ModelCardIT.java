package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code pipeline --publish-layout hub} on the tiny model: the model card's numbers are report.json's (each within
 * half a unit of the card's last printed decimal), its front matter has the Hub fields, the importance-matrix section
 * names the calibration text with the SHA-256 of its bytes, the command is the one run, and {@code dist/hub/} holds
 * one folder per Hub repository with the artifacts' exact bytes and a card each.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModelCardIT {
    private static final String MODEL = "falcon-h1-tiny";
    private static final Pattern ROW = Pattern.compile(
            "^\\| `([^`]+)` \\| ([^|]+) \\| ([0-9.]+) \\| (-?[0-9.]+) ± ([0-9.]+) \\| ([0-9.]+) \\| ([0-9.]+) \\|$");
    private Path dist;
    private JsonNode report;

    @BeforeAll
    void runPipeline() throws IOException {
        dist = Files.createTempDirectory(ConvertedGgufs.dir(), "card-").resolve("dist");
        CliRun r = CliRun.of("pipeline", "--model", CliRun.shared("models/" + MODEL), "--variants", "Q8_0,Q4_K_M-imatrix,w8",
                "--eval-data", CliRun.shared("corpus/valid.txt"), "--chunks", 2, "--calib-chunks", 4, "--threads", 2,
                "--publish-layout", "hub", "-q", "-o", dist);
        assertEquals(0, r.exitCode(), r.describe());
        report = CliRun.readJson(dist.resolve("report.json"));
    }

    @AfterAll
    void cleanUp() throws IOException {
        try (Stream<Path> walk = Files.walk(dist.getParent())) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Test
    void theCardsTableIsReportJson() throws IOException {
        String card = Files.readString(dist.resolve(MODEL).resolve("README.md"));
        Map<String, Matcher> rows = rows(card);
        JsonNode variants = report.path("models").get(0).path("variants");
        assertEquals(variants.size(), rows.size(), card);
        for (JsonNode v : variants) {
            String path = v.path("artifact").path("path").asText().substring(MODEL.length() + 1);
            String file = v.path("kind").asText().equals("gptq") ? path.replace("model.safetensors", "") : path;
            Matcher m = rows.get(file);
            assertNotNull(m, "no row for " + file + " in\n" + card);
            assertRounded(v.path("bitsPerWeight").asDouble(), m.group(3), file + " bits/weight");
            assertRounded(v.path("deltaPpl").asDouble(), m.group(4), file + " ΔPPL");
            assertRounded(v.path("deltaPplError").asDouble(), m.group(5), file + " ΔPPL error");
            assertRounded(v.path("kld").path("mean").asDouble(), m.group(6), file + " KLD");
            assertRounded(v.path("top1Percent").asDouble(), m.group(7), file + " top-1");
            double mb = v.path("fileSizeBytes").asLong() / 1e6;
            assertTrue(m.group(2).endsWith(" MB") || m.group(2).endsWith(" KB"), m.group(2));
            if (m.group(2).endsWith(" MB")) {
                assertRounded(mb, m.group(2).replace(" MB", ""), file + " size");
            }
        }
    }

    @Test
    void frontMatterImatrixAndCommand() throws Exception {
        String card = Files.readString(dist.resolve(MODEL).resolve("README.md"));
        assertTrue(card.startsWith("---\nbase_model: " + MODEL + "\nbase_model_relation: quantized\n"), card);
        String front = card.substring(0, card.indexOf("\n---\n", 4));
        assertTrue(front.contains("\nlibrary_name: gguf") && front.contains("\npipeline_tag: text-generation")
                && front.contains("\ntags:\n- falcon-h1\n"), front);
        assertFalse(front.contains("license"), "the tiny checkpoint states no license: " + front);
        assertTrue(card.contains("states no license"), "the card says why there is no license");
        String calibSha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(CliRun.shared("corpus/calib.txt"))));
        assertTrue(card.contains("`builtin:en` (SHA-256 `" + calibSha + "`)"), "builtin:en = corpus/calib.txt:\n" + card);
        assertTrue(card.matches("(?s).*: \\d+ tokens through the original model, 4 chunks of 512 tokens recorded.*"), card);
        assertTrue(card.contains("| `" + MODEL + "-imatrix.gguf` |"), card);
        assertTrue(card.contains("falconq pipeline --model " + CliRun.shared("models/" + MODEL)), card);
        assertTrue(card.contains("--publish-layout hub -q -o " + dist), card);
    }

    @Test
    void hubFoldersHoldTheArtifactsAndACardEach() throws IOException {
        Path hub = dist.resolve("hub");
        assertEquals(List.of(MODEL + "-GGUF", MODEL + "-w8"), list(hub));
        Path gguf = hub.resolve(MODEL + "-GGUF");
        assertEquals(List.of("README.md", MODEL + "-Q4_K_M-imatrix.gguf", MODEL + "-Q8_0.gguf", MODEL + "-imatrix.gguf"),
                list(gguf));
        for (String f : list(gguf)) {
            if (!f.equals("README.md")) {
                assertEquals(-1, Files.mismatch(gguf.resolve(f), dist.resolve(MODEL).resolve(f)), f);
            }
        }
        assertEquals(2, rows(Files.readString(gguf.resolve("README.md"))).size());
        Path w8 = hub.resolve(MODEL + "-w8");
        List<String> folder = list(dist.resolve(MODEL).resolve(MODEL + "-w8")).stream().filter(f -> !f.startsWith(".")).toList();
        List<String> repo = list(w8);
        assertTrue(repo.contains("README.md") && repo.containsAll(folder) && repo.size() == folder.size() + 1,
                repo + " vs " + folder);
        String card = Files.readString(w8.resolve("README.md"));
        assertTrue(card.contains("\nlibrary_name: transformers\n") && card.contains("\n- gptq\n"), card);
        assertEquals(1, rows(card).size(), card);
        JsonNode manifest = CliRun.readJson(dist.resolve("manifest.json"));
        assertTrue(manifest.toString().contains("\"hub/" + MODEL + "-GGUF/README.md\""), "manifest lists the hub cards");
    }

    private static Map<String, Matcher> rows(String card) {
        Map<String, Matcher> rows = new TreeMap<>();
        for (String line : card.split("\n")) {
            Matcher m = ROW.matcher(line);
            if (m.matches()) {
                rows.put(m.group(1), m);
            }
        }
        return rows;
    }

    /** The card prints {@code value} rounded to the decimals it shows: within half a unit of the last one. */
    private static void assertRounded(double value, String printed, String what) {
        BigDecimal p = new BigDecimal(printed);
        double halfUnit = 0.5 * Math.pow(10, -p.scale());
        assertTrue(Math.abs(value - p.doubleValue()) <= halfUnit * (1 + 1e-9),
                what + ": card " + printed + ", report.json " + value);
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
