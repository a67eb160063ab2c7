package io.falconq.formats.safetensors;

import io.falconq.formats.safetensors.SafetensorsWriter.PlannedTensor;
import io.falconq.formats.testing.SharedGroundTruth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardedSafetensorsWriterTest {
    private static final Map<String, String> PT = Map.of("format", "pt");

    @TempDir
    Path tmp;

    /**
     * 10 tensors of mixed dtypes, max 1000 data bytes: "big" (1600 bytes) is over the maximum, so its shard is
     * numbered before the shard being filled when it arrives, and two shards are open at once while writing.
     */
    private static final List<PlannedTensor> TENSORS = List.of(
            t("embed", SafetensorsDtype.BF16, 200), t("l0.q", SafetensorsDtype.I32, 80), t("l0.norm", SafetensorsDtype.F32, 16),
            t("big", SafetensorsDtype.F32, 400), t("l1.q", SafetensorsDtype.I32, 80), t("l1.scales", SafetensorsDtype.F16, 64),
            t("l1.norm", SafetensorsDtype.F32, 16), t("l2.q", SafetensorsDtype.I32, 120), t("l2.norm", SafetensorsDtype.F32, 16),
            t("head", SafetensorsDtype.BF16, 200));

    private static PlannedTensor t(String name, SafetensorsDtype dtype, long elements) {
        return new PlannedTensor(name, dtype, new long[]{elements});
    }

    /** Seeded per tensor, so a resumed run supplies the same bytes as a straight one. */
    private static MemorySegment data(SafetensorsShardPlan plan, String name) {
        PlannedTensor t = plan.tensors().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
        byte[] b = new byte[(int) t.dtype().bytesFor(t.shape()[0])];
        new Random(name.hashCode()).nextBytes(b);
        return MemorySegment.ofArray(b);
    }

    private static void writeAll(ShardedSafetensorsWriter w) {
        for (PlannedTensor t : w.plan().tensors()) {
            if (w.needs(t.name())) {
                w.write(t.name(), data(w.plan(), t.name()));
            }
        }
        w.finish();
    }

    private Path straightRun(SafetensorsShardPlan plan) throws IOException {
        Path folder = Files.createDirectory(tmp.resolve("straight"));
        try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.open(folder, plan, PT)) {
            writeAll(w);
        }
        return folder;
    }

    private static List<String> listing(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertSameFiles(Path expected, Path actual) throws IOException {
        assertEquals(listing(expected), listing(actual));
        for (String name : listing(expected)) {
            assertArrayEquals(Files.readAllBytes(expected.resolve(name)), Files.readAllBytes(actual.resolve(name)), name);
        }
    }

    /** The shared two-shard tiny checkpoint (written by transformers) rebuilt from the single file at 7 MB. */
    @Test
    void rebuildsTheSharedShardedTinyCheckpointByteForByte() throws IOException {
        Path out = Files.createDirectory(tmp.resolve("out"));
        try (SafetensorsFile single = SafetensorsReader.open(SharedGroundTruth.path("models/falcon-h1-tiny/model.safetensors"))) {
            SafetensorsShardPlan plan = SafetensorsShardPlan.split(single.infos().stream().map(PlannedTensor::of).toList(),
                    SafetensorsShardPlan.parseSize("7MB"));
            try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.open(out, plan, single.metadata())) {
                for (PlannedTensor t : plan.tensors()) {
                    w.write(t.name(), single.rawBytes(t.name()));
                }
                w.finish();
            }
        }
        Path shared = SharedGroundTruth.path("models/falcon-h1-tiny-sharded");
        for (String name : listing(out)) {
            assertArrayEquals(Files.readAllBytes(shared.resolve(name)), Files.readAllBytes(out.resolve(name)), name);
        }
        assertEquals(List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                SafetensorsShardPlan.INDEX_FILE), listing(out));
    }

    @Test
    void interruptedThenResumedEqualsAStraightRun() throws IOException {
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(TENSORS, 1000);
        assertEquals(List.of("big"), plan.shards().getFirst().tensors().stream().map(PlannedTensor::name).toList());
        Path straight = straightRun(plan);

        Path resumed = Files.createDirectory(tmp.resolve("resumed"));
        ShardedSafetensorsWriter first = ShardedSafetensorsWriter.open(resumed, plan, PT);
        List<String> half = plan.tensors().stream().map(PlannedTensor::name).limit(6).toList();
        for (String name : half) {
            first.write(name, data(plan, name));
        }
        // abandoned without close(), as after SIGKILL: a temporary shard stays; plus one of a process long gone
        Files.write(resumed.resolve("model-00004-of-00004.safetensors.partial-999999999999"), new byte[]{1, 2, 3});
        List<String> committed = listing(resumed).stream().filter(n -> n.endsWith(".safetensors")).toList();
        assertFalse(committed.isEmpty());

        try (ShardedSafetensorsWriter second = ShardedSafetensorsWriter.open(resumed, plan, PT)) {
            assertEquals(committed, second.keptShards());
            assertEquals(List.of(), second.discardedShards());
            List<String> supplied = new ArrayList<>();
            for (PlannedTensor t : plan.tensors()) {
                boolean inKeptShard = committed.contains(plan.weightMap().get(t.name()));
                assertEquals(!inKeptShard, second.needs(t.name()), t.name());
                if (second.needs(t.name())) {
                    supplied.add(t.name());
                }
            }
            assertEquals(supplied, second.remaining());
            assertTrue(supplied.size() < plan.tensors().size(), "the resumed run writes only the rest");
            writeAll(second);
        }
        first.close();
        assertSameFiles(straight, resumed);
    }

    @Test
    void aShardThatDoesNotMatchThePlanIsWrittenAgainAndOtherPlansFilesGo() throws IOException {
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(TENSORS, 1000);
        Path straight = straightRun(plan);
        Path folder = Files.createDirectory(tmp.resolve("folder"));
        String firstShard = plan.shards().getFirst().fileName();
        Files.copy(straight.resolve(firstShard), folder.resolve(firstShard));
        String secondShard = plan.shards().get(1).fileName();
        byte[] wrongMetadata = Files.readAllBytes(straight.resolve(secondShard));
        wrongMetadata[20] ^= 1;  // inside the header
        Files.write(folder.resolve(secondShard), wrongMetadata);
        Files.writeString(folder.resolve("model-00001-of-00009.safetensors"), "another plan");
        Files.writeString(folder.resolve("model.safetensors"), "another plan");
        Files.writeString(folder.resolve("config.json"), "{}");

        try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.open(folder, plan, PT)) {
            assertEquals(List.of(firstShard), w.keptShards());
            assertEquals(List.of(secondShard), w.discardedShards());
            writeAll(w);
        }
        Files.delete(folder.resolve("config.json"));
        assertSameFiles(straight, folder);
    }

    @Test
    void chunkedWritesGiveTheSameBytesAndOneShardHasNoIndex() throws IOException {
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(TENSORS, SafetensorsShardPlan.parseSize("2M"));
        Path straight = straightRun(plan);
        assertEquals(List.of(SafetensorsShardPlan.SINGLE_FILE), listing(straight));
        Path chunked = Files.createDirectory(tmp.resolve("chunked"));
        try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.open(chunked, plan, PT)) {
            for (PlannedTensor t : plan.tensors()) {
                MemorySegment bytes = data(plan, t.name());
                w.startTensor(t.name());
                w.writeChunk(bytes.asSlice(0, 3));
                w.writeChunk(bytes.asSlice(3));
                w.endTensor();
            }
            w.finish();
        }
        assertSameFiles(straight, chunked);
    }

    @Test
    void enforcesPlanOrderAndCompleteness() throws IOException {
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(TENSORS, 1000);
        Path folder = Files.createDirectory(tmp.resolve("order"));
        try (ShardedSafetensorsWriter w = ShardedSafetensorsWriter.open(folder, plan, PT)) {
            assertThrows(IllegalStateException.class, () -> w.write("l0.q", data(plan, "l0.q")), "out of order");
            assertThrows(IllegalArgumentException.class, () -> w.needs("nope"));
            assertThrows(IllegalStateException.class, () -> w.write("embed", MemorySegment.ofArray(new byte[3])), "short");
            w.write("embed", data(plan, "embed"));
            assertThrows(IllegalStateException.class, () -> w.write("embed", data(plan, "embed")), "twice");
            assertThrows(IllegalStateException.class, w::finish);
        }
        assertEquals(List.of(), listing(folder), "close() removes the temporary file of the open shard");
    }
}
