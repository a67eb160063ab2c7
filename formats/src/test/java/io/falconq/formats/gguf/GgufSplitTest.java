package io.falconq.formats.gguf;

import io.falconq.formats.gguf.GgufWriter.PlannedTensor;
import io.falconq.formats.io.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The split writer and reader on a small synthetic model (the llama.cpp comparisons are in tests' GgufSplitIT). */
class GgufSplitTest {
    @TempDir
    Path tmp;

    private static List<PlannedTensor> tensors(int n) {
        List<PlannedTensor> t = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            t.add(new PlannedTensor("t" + i, GgmlType.F32, new long[] {8 + i}));
        }
        return t;
    }

    private static MemorySegment bytes(PlannedTensor t) {
        MemorySegment s = MemorySegment.ofArray(new byte[4 * (int) t.ne()[0]]);
        for (int i = 0; i < t.ne()[0]; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, t.name().hashCode() + i);
        }
        return s;
    }

    private List<Path> write(List<PlannedTensor> plan, GgufSplit.Rule rule, boolean finish) {
        GgufMetadata m = new GgufMetadata().putString("general.architecture", "test");
        try (GgufSplitWriter w = GgufSplitWriter.begin(tmp.resolve("m.gguf"), m, plan, rule, false,
                plan.reversed().stream().map(PlannedTensor::name).toList())) {
            for (PlannedTensor t : plan.reversed()) {
                w.write(t.name(), bytes(t));
            }
            if (finish) {
                w.finish();
            }
            return w.files();
        }
    }

    @Test
    void splitsByTensorCountAndReadsBackFromTheFirstShard() {
        List<PlannedTensor> plan = tensors(5);
        List<Path> files = write(plan, GgufSplit.Rule.maxTensors(2), true);
        assertEquals(List.of("m-00001-of-00003.gguf", "m-00002-of-00003.gguf", "m-00003-of-00003.gguf"),
                files.stream().map(p -> p.getFileName().toString()).toList());
        try (GgufFile f = GgufReader.open(files.getFirst())) {
            assertEquals(3, f.shards().size());
            assertEquals(List.of("t0", "t1", "t2", "t3", "t4"), f.names());
            for (PlannedTensor t : plan) {
                assertArrayEquals(bytes(t).toArray(ValueLayout.JAVA_BYTE), f.rawBytes(t.name()).toArray(ValueLayout.JAVA_BYTE));
            }
            assertEquals(0, f.metadata().getU16(GgufSplit.NO));
            assertEquals(3, f.metadata().getU16(GgufSplit.COUNT));
            assertEquals(5, f.metadata().getI32(GgufSplit.TENSORS_COUNT));
            assertEquals(files.stream().mapToLong(p -> p.toFile().length()).sum(), f.fileSize());
        }
        assertEquals(files.stream().mapToLong(p -> p.toFile().length()).sum(), GgufSplitWriter.plannedFileSize(
                new GgufMetadata().putString("general.architecture", "test"), plan, GgufSplit.Rule.maxTensors(2)),
                "the planned size of the shards, without writing them");
        try (GgufFile second = GgufReader.openSingle(files.get(1))) {
            assertEquals(List.of(GgufSplit.NO, GgufSplit.TENSORS_COUNT, GgufSplit.COUNT, GgufSplit.FIRST_HEADER_SHA256),
                    second.metadata().keys());
        }
    }

    @Test
    void sizeRuleCountsPaddedTensorDataAndNeverCutsATensor() {
        // 8..11 floats = 32, 36, 40, 44 bytes, padded to 32: 32, 64, 64, 64
        List<PlannedTensor> plan = tensors(4);
        List<List<PlannedTensor>> shards = GgufSplit.plan(plan, GgufSplit.Rule.maxBytes(100));
        assertEquals(List.of(2, 1, 1), shards.stream().map(List::size).toList());
        // a tensor over the limit gets its own shard rather than an empty first shard
        assertEquals(4, GgufSplit.plan(plan, GgufSplit.Rule.maxBytes(1)).size());
    }

    @Test
    void anotherSplitOfTheSameNameIsRefusedOrWithForceReplaced() throws IOException {
        List<Path> three = write(tensors(5), GgufSplit.Rule.maxTensors(2), true);
        GgufMetadata m = new GgufMetadata().putString("general.architecture", "test");
        List<PlannedTensor> plan = tensors(5);
        List<String> order = plan.stream().map(PlannedTensor::name).toList();
        Path out = tmp.resolve("m.gguf");
        assertThrows(io.falconq.formats.io.OutputException.class,
                () -> GgufSplitWriter.begin(out, m, plan, GgufSplit.Rule.maxTensors(3), false, order).close());
        try (GgufSplitWriter w = GgufSplitWriter.begin(out, m, plan, GgufSplit.Rule.maxTensors(3), true, order)) {
            for (PlannedTensor t : plan) {
                w.write(t.name(), bytes(t));
            }
            w.finish();
            try (Stream<Path> left = Files.list(tmp)) {
                assertEquals(w.files().stream().map(Path::getFileName).toList(),
                        left.map(Path::getFileName).sorted().toList());
            }
        }
        assertTrue(three.stream().noneMatch(Files::exists));
    }

    @Test
    void anUnfinishedSplitLeavesNothing() throws IOException {
        write(tensors(5), GgufSplit.Rule.maxTensors(2), false);
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList());
        }
    }

    @Test
    void brokenSetsAreRefusedNamingTheShard() throws IOException {
        List<Path> files = write(tensors(5), GgufSplit.Rule.maxTensors(2), true);
        Files.move(files.get(2), tmp.resolve("elsewhere.gguf"));
        InvalidInputException missing = assertThrows(InvalidInputException.class, () -> GgufReader.open(files.getFirst()));
        assertTrue(missing.getMessage().contains("m-00003-of-00003.gguf: shard 3 of 3"), missing.getMessage());
        Files.move(tmp.resolve("elsewhere.gguf"), files.get(2));

        InvalidInputException notFirst = assertThrows(InvalidInputException.class, () -> GgufReader.open(files.get(1)));
        assertTrue(notFirst.getMessage().contains("open the first shard, m-00001-of-00003.gguf"), notFirst.getMessage());

        Path renamed = tmp.resolve("renamed.gguf");
        Files.copy(files.getFirst(), renamed);
        assertThrows(InvalidInputException.class, () -> GgufReader.open(renamed));
        Files.delete(renamed);

        Path stray = tmp.resolve("m-00004-of-00003.gguf");
        Files.copy(files.get(1), stray);
        InvalidInputException extra = assertThrows(InvalidInputException.class, () -> GgufReader.open(files.getFirst()));
        assertTrue(extra.getMessage().contains("extra shard"), extra.getMessage());
        Files.delete(stray);

        try (GgufFile ok = GgufReader.open(files.getFirst())) {
            assertEquals(5, ok.names().size());
        }
    }
}
