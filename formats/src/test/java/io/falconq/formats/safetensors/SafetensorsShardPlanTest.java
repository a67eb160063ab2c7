package io.falconq.formats.safetensors;

import io.falconq.formats.safetensors.SafetensorsWriter.PlannedTensor;
import io.falconq.formats.testing.SharedGroundTruth;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Expected splits are the assertions of huggingface_hub {@code tests/test_serialization.py} (cited per test); the
 * index bytes are the shared {@code falcon-h1-tiny-sharded} index, written by Python's {@code json.dumps}.
 */
class SafetensorsShardPlanTest {
    /** A tensor of {@code bytes} data bytes (U8, 1-D), so sizes can be written as the reference tests write them. */
    private static PlannedTensor bytes(String name, long bytes) {
        return new PlannedTensor(name, SafetensorsDtype.U8, new long[]{bytes});
    }

    private static Map<String, List<String>> filesToTensors(SafetensorsShardPlan plan) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (SafetensorsShardPlan.Shard s : plan.shards()) {
            out.put(s.fileName(), s.tensors().stream().map(PlannedTensor::name).toList());
        }
        return out;
    }

    private static final List<PlannedTensor> DUMMY = List.of(bytes("layer_1", 6), bytes("layer_2", 10),
            bytes("layer_3", 30), bytes("layer_4", 2), bytes("layer_5", 2));

    /** {@code test_multiple_shards}: a tensor over the maximum is appended at once, before the open shard. */
    @Test
    void multipleShardsAsHuggingfaceHub() {
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(DUMMY, 10);
        assertEquals(Map.of(
                "model-00001-of-00004.safetensors", List.of("layer_1"),
                "model-00002-of-00004.safetensors", List.of("layer_3"),
                "model-00003-of-00004.safetensors", List.of("layer_2"),
                "model-00004-of-00004.safetensors", List.of("layer_4", "layer_5")), filesToTensors(plan));
        assertEquals(List.of("model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors"), List.copyOf(filesToTensors(plan).keySet()));
        assertEquals(50, plan.totalSize());
        assertTrue(plan.sharded());
        assertEquals(List.of("layer_1", "layer_2", "layer_3", "layer_4", "layer_5"),
                plan.tensors().stream().map(PlannedTensor::name).toList(), "state-dict order is kept for streaming");
    }

    /** {@code test_single_shard}: everything fits, one file without suffix. */
    @Test
    void singleShardIsModelSafetensors() {
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(DUMMY, 100);
        assertEquals(Map.of("model.safetensors", List.of("layer_1", "layer_2", "layer_3", "layer_4", "layer_5")),
                filesToTensors(plan));
        assertEquals(50, plan.totalSize());
        assertFalse(plan.sharded());
    }

    /** {@code test_save_torch_state_dict_sharded}: five int64 scalars-as-vectors (8 bytes each), max 30, total 40. */
    @Test
    void torchStateDictShardedAsHuggingfaceHub() {
        List<PlannedTensor> tensors = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            tensors.add(new PlannedTensor("layer_" + i, SafetensorsDtype.I64, new long[]{1}));
        }
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(tensors, 30);
        assertEquals(Map.of("model-00001-of-00002.safetensors", List.of("layer_1", "layer_2", "layer_3"),
                "model-00002-of-00002.safetensors", List.of("layer_4", "layer_5")), filesToTensors(plan));
        assertEquals(40, plan.totalSize());
    }

    /** A tensor exactly at the maximum is not "bigger" ({@code >} in the reference): it closes the open shard in turn. */
    @Test
    void tensorExactlyAtTheMaximumIsNotPlacedAhead() {
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(List.of(bytes("a", 4), bytes("c", 10), bytes("b", 2)), 10);
        assertEquals(List.of(List.of("a"), List.of("c"), List.of("b")), List.copyOf(filesToTensors(plan).values()));
        SafetensorsShardPlan over = SafetensorsShardPlan.split(List.of(bytes("a", 4), bytes("c", 11), bytes("b", 2)), 10);
        assertEquals(List.of(List.of("c"), List.of("a", "b")), List.copyOf(filesToTensors(over).values()));
    }

    /**
     * The shared sharded tiny checkpoint: its tensors in the single file's order, split at 7 MB, give exactly its
     * index file (the split point is between 6792868 and 7186084 data bytes, so 7 MB is the one round size).
     */
    @Test
    void reproducesTheSharedTinyIndexByteForByte() throws IOException {
        List<PlannedTensor> tensors;
        try (SafetensorsFile single = SafetensorsReader.open(SharedGroundTruth.path("models/falcon-h1-tiny/model.safetensors"))) {
            tensors = single.infos().stream().map(PlannedTensor::of).toList();
        }
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(tensors, SafetensorsShardPlan.parseSize("7MB"));
        Path index = SharedGroundTruth.path("models/falcon-h1-tiny-sharded/" + SafetensorsShardPlan.INDEX_FILE);
        assertEquals(Files.readString(index), new String(plan.indexJson(), StandardCharsets.UTF_8));
    }

    @Test
    void indexSortsKeysAndEscapesAsPythonJsonDumps() {
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(List.of(bytes("b\u00e9", 2), bytes("a\"\n", 2),
                bytes("\uD83D\uDE00", 2), bytes("\uFFFD", 2)), 2);
        String expected = """
                {
                  "metadata": {
                    "total_parameters": 8,
                    "total_size": 8
                  },
                  "weight_map": {
                    "a\\"\\n": "model-00002-of-00004.safetensors",
                    "b\\u00e9": "model-00001-of-00004.safetensors",
                    "\\ufffd": "model-00004-of-00004.safetensors",
                    "\\ud83d\\ude00": "model-00003-of-00004.safetensors"
                  }
                }
                """;
        // U+1F600 sorts after U+FFFD by code point (Python), before it by UTF-16 unit (Java's compareTo)
        assertEquals(expected, new String(plan.indexJson(Map.of("total_parameters", 8L)), StandardCharsets.US_ASCII));
    }

    /** huggingface_hub {@code test_parse_size_to_int}, plus the binary units of transformers' convert_file_size_to_int. */
    @Test
    void parsesSizesAsTheHuggingFaceLibraries() {
        assertEquals(1_000L, SafetensorsShardPlan.parseSize("1KB"));
        assertEquals(2_000_000L, SafetensorsShardPlan.parseSize("2MB"));
        assertEquals(3_000_000_000L, SafetensorsShardPlan.parseSize("3GB"));
        assertEquals(10_000L, SafetensorsShardPlan.parseSize(" 10 KB "));
        assertEquals(20_000_000L, SafetensorsShardPlan.parseSize("20mb"));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsShardPlan.parseSize("1ooKB"));
        assertEquals(1_048_576L, SafetensorsShardPlan.parseSize("1MiB"), "convert_file_size_to_int docstring example");
        assertEquals(500L << 20, SafetensorsShardPlan.parseSize("500MiB"));
        assertEquals(5L << 30, SafetensorsShardPlan.parseSize("5gib"));
        assertEquals(1_500_000_000L, SafetensorsShardPlan.parseSize("1.5GB"), "int(float('1.5') * 10**9)");
        assertEquals(2_000_000L, SafetensorsShardPlan.parseSize("2M"), "shorthand = MB");
        assertEquals(5_000_000_000L, SafetensorsShardPlan.parseSize("5G"));
        assertEquals(123L, SafetensorsShardPlan.parseSize("123"), "an integer is bytes");
        for (String bad : List.of("", "MB", "-5MB", "5XB", "1.5", "5 M B", "1e400GB", "99999999999999999999")) {
            assertThrows(IllegalArgumentException.class, () -> SafetensorsShardPlan.parseSize(bad), bad);
        }
    }

    @Test
    void rejectsEmptyPlansNegativeMaximaAndDuplicateNames() {
        assertThrows(IllegalArgumentException.class, () -> SafetensorsShardPlan.split(List.of(), 10));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsShardPlan.split(DUMMY, -1));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsShardPlan.split(List.of(bytes("a", 1), bytes("a", 2)), 10));
    }
}
