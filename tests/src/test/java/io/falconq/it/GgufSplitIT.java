package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.gguf.GgufValue;
import io.falconq.formats.gguf.GgufWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Split GGUF against llama.cpp itself: node-llama-cpp's llama.cpp loads falconq's split Q8_0 of the tiny model from
 * its first shard and computes exactly what it computes on the unsplit file; llama.cpp's own {@code llama-gguf-split}
 * (tools/gguf-split/gguf-split.cpp of the same release, built by {@code tests/node/build-gguf-split.sh} against
 * node-llama-cpp's prebuilt libraries) merges the shards into our unsplit file plus the three keys its merge keeps
 * ({@code split.no} 0, {@code split.tensors.count}, {@code split.count} set to 0), byte for byte, and splits our
 * unsplit file into the same shards (the first byte-identical; the others differ only by falconq's
 * {@code falconq.split.first_header_sha256}). A split set with a shard removed, renamed, added or taken from
 * another model is exit 3 and nothing is written. {@code requantize} and {@code pipeline} take the same split options
 * and write the same shards; the pipeline evaluates its split variant from the first shard, with the numbers
 * {@code eval} gives on the unsplit file, and lists every shard in report.json, the model card, the Hub folder and
 * the manifest.
 */
class GgufSplitIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path dir;
    private static Path unsplitQ8;
    private static List<Path> splitQ8;

    @BeforeAll
    static void convert() throws IOException {
        dir = Files.createTempDirectory(ConvertedGgufs.dir(), "split-");
        unsplitQ8 = ConvertedGgufs.get(new ConvertedGgufs.Variant("Q8_0", false));
        splitQ8 = convertSplit("Q8_0", dir.resolve("q8"));
    }

    private static List<Path> convertSplit(String type, Path folder) throws IOException {
        Files.createDirectories(folder);
        CliRun r = CliRun.of("convert", "--type", type, "--split-max-tensors", "20", "-t", "2", "-q",
                "-o", folder.resolve("tiny-" + type + ".gguf"), CliRun.shared("models/falcon-h1-tiny"));
        assertEquals(0, r.exitCode(), r.describe());
        List<Path> shards = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Path p = folder.resolve(String.format("tiny-%s-%05d-of-00004.gguf", type, i + 1));
            assertTrue(Files.isRegularFile(p), p + " missing; " + r.describe());
            shards.add(p);
        }
        assertEquals(shards, list(folder), "exactly the 4 shards");
        return shards;
    }

    @Test
    void llamaCppLoadsTheSplitFromItsFirstShardAndComputesWhatItComputesOnTheUnsplitFile() throws Exception {
        ObjectNode request = JSON.createObjectNode();
        request.put("threads", 2);
        ArrayNode models = request.putArray("models");
        for (Path p : List.of(splitQ8.getFirst(), unsplitQ8)) {
            ObjectNode m = models.addObject();
            m.put("path", p.toString());
            m.putArray("prompts").add(CliRun.readJson(CliRun.shared("models/falcon-h1-tiny/golden/golden.json"))
                    .path("prompts").get(0).path("ids"));
        }
        JsonNode response = LlamaCppLoadsIT.runNode(request);
        JsonNode split = response.path("models").get(0);
        JsonNode whole = response.path("models").get(1);
        assertTrue(split.path("ok").asBoolean(), "llama.cpp failed to load the split: " + split.path("error").asText());
        assertEquals("falcon-h1", split.path("architecture").asText());
        assertEquals(4096, split.path("prompts").get(0).path("logprobs").size());
        assertEquals(whole.path("prompts"), split.path("prompts"), "log-probabilities of split vs unsplit");
    }

    @Test
    void llamaGgufSplitMergesOurShardsIntoOurUnsplitFileAndSplitsItIntoOurShards() throws Exception {
        Path tool = LlamaTools.build("build-gguf-split.sh", "llama-gguf-split");
        Path merged = dir.resolve("merged.gguf");
        LlamaTools.run(List.of(tool.toString(), "--merge", splitQ8.getFirst().toString(), merged.toString()));
        Path expected = dir.resolve("expected-merge.gguf");
        try (GgufFile whole = GgufReader.open(unsplitQ8)) {
            GgufMetadata m = whole.metadata().copy();
            m.put(GgufSplit.NO, GgufValue.u16(0));
            m.putI32(GgufSplit.TENSORS_COUNT, whole.tensorInfos().size());
            m.put(GgufSplit.COUNT, GgufValue.u16(0));
            try (GgufWriter w = GgufWriter.begin(expected, m,
                    whole.tensorInfos().stream().map(GgufWriter.PlannedTensor::of).toList(), false)) {
                for (GgufTensorInfo t : whole.tensorInfos()) {
                    w.write(t.name(), whole.rawBytes(t.name()));
                }
                w.finish();
            }
        }
        assertEquals(-1, Files.mismatch(expected, merged),
                "llama-gguf-split --merge of our shards = our unsplit Q8_0 + split.no/tensors.count/count(0)");

        Path llamaDir = Files.createDirectories(dir.resolve("llama"));
        LlamaTools.run(List.of(tool.toString(), "--split-max-tensors", "20", unsplitQ8.toString(),
                llamaDir.resolve("tiny-Q8_0").toString()));
        List<Path> theirs = list(llamaDir);
        assertEquals(splitQ8.stream().map(p -> p.getFileName().toString()).toList(),
                theirs.stream().map(p -> p.getFileName().toString()).toList());
        assertEquals(-1, Files.mismatch(splitQ8.getFirst(), theirs.getFirst()), "first shard byte-identical");
        for (int i = 1; i < theirs.size(); i++) {
            try (GgufFile ours = GgufReader.openSingle(splitQ8.get(i)); GgufFile llama = GgufReader.openSingle(theirs.get(i))) {
                GgufMetadata stripped = ours.metadata().copy().remove(GgufSplit.FIRST_HEADER_SHA256);
                assertEquals(llama.metadata().asMap().keySet().stream().toList(), stripped.keys(), "shard " + (i + 1));
                assertEquals(llama.metadata(), stripped, "shard " + (i + 1) + " metadata");
                assertEquals(llama.tensorInfos().size(), ours.tensorInfos().size());
                for (GgufTensorInfo t : llama.tensorInfos()) {
                    GgufTensorInfo o = ours.info(t.name());
                    assertEquals(t.type(), o.type(), t.name());
                    assertEquals(java.util.Arrays.toString(t.ne()), java.util.Arrays.toString(o.ne()), t.name());
                    assertEquals(t.offset(), o.offset(), t.name());
                    assertEquals(-1, llama.rawBytes(t.name()).mismatch(ours.rawBytes(t.name())), t.name());
                }
            }
        }
    }

    @Test
    void requantizeReadsASplitF32AndBrokenSetsAreExit3WithNothingWritten() throws Exception {
        List<Path> f32 = convertSplit("F32", dir.resolve("f32"));
        Path out = dir.resolve("f32").resolve("q8.gguf");
        CliRun ok = CliRun.of("requantize", "--type", "Q8_0", "-q", "-o", out, f32.getFirst());
        assertEquals(0, ok.exitCode(), ok.describe());
        assertEquals(-1, Files.mismatch(unsplitQ8, out), "requantize of the split F32 = convert to Q8_0");
        Path splitOut = Files.createDirectories(dir.resolve("requantized"));
        CliRun split = CliRun.of("requantize", "--type", "Q8_0", "--split-max-tensors", "20", "-t", "1", "-q",
                "-o", splitOut.resolve("tiny-Q8_0.gguf"), f32.getFirst());
        assertEquals(0, split.exitCode(), split.describe());
        assertSameFiles(splitQ8, list(splitOut), "requantize --split-max-tensors 20 (-t 1) = convert's split (-t 2)");

        broken("shard 3 removed", f32, d -> Files.delete(d.resolve(f32.get(2).getFileName())), 0,
                f32.get(2).getFileName().toString());
        broken("shard 3 renamed", f32, d -> Files.move(d.resolve(f32.get(2).getFileName()), d.resolve("tiny-F32-3.gguf")),
                0, f32.get(2).getFileName().toString());
        broken("first shard renamed", f32, d -> Files.move(d.resolve(f32.getFirst().getFileName()), d.resolve("tiny.gguf")),
                -1, "tiny.gguf");
        broken("shard 2 of another model", f32, d -> Files.copy(splitQ8.get(1), d.resolve(f32.get(1).getFileName()),
                StandardCopyOption.REPLACE_EXISTING), 0, f32.get(1).getFileName().toString());
        broken("an extra shard", f32, d -> Files.copy(f32.get(1), d.resolve("tiny-F32-00001-of-00003.gguf")), 0,
                "tiny-F32-00001-of-00003.gguf");
        broken("opened at shard 2", f32, d -> { }, 1, "open the first shard");
    }

    @Test
    void pipelineWritesItsGgufVariantsSplitEvaluatesThemAndListsEveryShard() throws Exception {
        String model = "falcon-h1-tiny";
        Path dist = dir.resolve("dist");
        CliRun r = CliRun.of("pipeline", "--model", CliRun.shared("models/" + model), "--variants", "Q8_0",
                "--split-max-tensors", "20", "--eval-data", CliRun.shared("corpus/valid.txt"), "--chunks", "1",
                "--threads", "2", "--publish-layout", "hub", "-q", "-o", dist);
        assertEquals(0, r.exitCode(), r.describe());
        Path folder = dist.resolve(model).resolve(model + "-Q8_0");
        List<Path> shards = list(folder);
        assertEquals(List.of(1, 2, 3, 4).stream().map(i -> String.format("%s-Q8_0-%05d-of-00004.gguf", model, i)).toList(),
                shards.stream().map(p -> p.getFileName().toString()).toList());
        assertSameFiles(splitQ8, shards, "the pipeline's split Q8_0 = convert --split-max-tensors 20");

        JsonNode v = CliRun.readJson(dist.resolve("report.json")).path("models").get(0).path("variants").get(0);
        JsonNode artifact = v.path("artifact");
        assertEquals(model + "/" + model + "-Q8_0/" + shards.getFirst().getFileName(), artifact.path("path").asText());
        assertEquals(4, artifact.path("shards").size());
        long total = 0;
        for (int i = 0; i < 4; i++) {
            JsonNode shard = artifact.path("shards").get(i);
            assertEquals(dist.relativize(shards.get(i)).toString(), shard.path("path").asText());
            assertEquals(Files.size(shards.get(i)), shard.path("sizeBytes").asLong());
            assertEquals(sha256(shards.get(i)), shard.path("sha256").asText());
            total += Files.size(shards.get(i));
        }
        assertEquals(sha256(shards.getFirst()), artifact.path("sha256").asText());
        assertEquals(total, v.path("fileSizeBytes").asLong(), "a split variant's size is the sum of its shards");

        // the same computation on the same tokens as eval of the unsplit file against the pipeline's baseline
        CliRun eval = CliRun.of("eval", unsplitQ8, "--baseline", dist.resolve(".falconq/" + model + "/original.logits"),
                "--json", "-q");
        assertEquals(0, eval.exitCode(), eval.describe());
        assertEquals(eval.json().path("ppl").asDouble(), v.path("ppl").asDouble(), "ppl of split vs unsplit");
        assertEquals(eval.json().path("kl").path("mean_kld").asDouble(), v.path("kld").path("mean").asDouble(), "KLD");

        String card = Files.readString(dist.resolve(model).resolve("README.md"));
        for (Path shard : shards) {
            String row = "| `" + model + "-Q8_0/" + shard.getFileName() + "` | ";
            assertTrue(card.contains(row), "the card lists " + shard.getFileName() + ":\n" + card);
        }
        assertTrue(card.contains("| `" + model + "-Q8_0/" + shards.getFirst().getFileName() + "` | "
                + String.format(java.util.Locale.ROOT, "%.2f MB", total / 1e6) + " | "), "summed size row:\n" + card);
        Path hubFolder = dist.resolve("hub").resolve(model + "-GGUF").resolve(model + "-Q8_0");
        assertSameFiles(shards, list(hubFolder), "the Hub folder holds the shards in their folder");
        String manifest = Files.readString(dist.resolve("manifest.json"));
        shards.forEach(p -> assertTrue(manifest.contains("\"" + dist.relativize(p) + "\""), p + " in manifest.json"));

        CliRun both = CliRun.of("pipeline", "--model", CliRun.shared("models/" + model), "--variants", "Q8_0",
                "--split-max-tensors", "20", "--split-max-size", "1M", "--eval-data", CliRun.shared("corpus/valid.txt"),
                "-o", dir.resolve("unused"));
        assertEquals(2, both.exitCode(), both.describe());
        CliRun sizeBudget = CliRun.of("pipeline", "--model", CliRun.shared("models/" + model), "--variants",
                "auto@Q4_K_M-size", "--split-max-tensors", "20", "--eval-data", CliRun.shared("corpus/valid.txt"),
                "-o", dir.resolve("unused"));
        assertEquals(2, sizeBudget.exitCode(), sizeBudget.describe());
        assertTrue(sizeBudget.err().contains("auto@<BITS>bpw"), sizeBudget.err());
        assertFalse(Files.exists(dir.resolve("unused")), "usage errors write nothing");
    }

    /** The same bytes, file by file in order (names may differ). */
    private static void assertSameFiles(List<Path> expected, List<Path> actual, String what) throws IOException {
        assertEquals(expected.size(), actual.size(), what + ": " + actual);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(-1, Files.mismatch(expected.get(i), actual.get(i)), what + ": " + actual.get(i).getFileName());
        }
    }

    private static String sha256(Path file) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(file)));
    }

    private interface Breakage {
        void apply(Path folder) throws IOException;
    }

    /** A copy of {@code set} broken by {@code breakage}: requantize, inspect and eval of shard {@code open} fail with exit 3. */
    private static void broken(String what, List<Path> set, Breakage breakage, int open, String named) throws IOException {
        Path d = Files.createTempDirectory(dir, "broken-");
        for (Path p : set) {
            Files.copy(p, d.resolve(p.getFileName()));
        }
        breakage.apply(d);
        Path input = open >= 0 ? d.resolve(set.get(open).getFileName()) : d.resolve("tiny.gguf");
        List<Path> before = list(d);
        for (CliRun r : List.of(CliRun.of("requantize", "--type", "Q8_0", "-o", d.resolve("out.gguf"), input),
                CliRun.of("inspect", input),
                CliRun.of("eval", input, "--data", CliRun.shared("corpus/valid.txt"), "--chunks", "1"))) {
            assertEquals(3, r.exitCode(), what + ": " + r.describe());
            assertTrue(r.err().contains(named), what + ": the error names " + named + ": " + r.err());
        }
        assertEquals(before, list(d), what + ": nothing written");
    }

    private static List<Path> list(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.sorted().toList();
        }
    }
}
