package io.falconq.formats.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsWriterTest {
    @TempDir
    Path tmp;

    private static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    private byte[] writeOne(String name, long[] shape, byte[] data, Map<String, String> metadata) throws IOException {
        Path out = tmp.resolve(name + ".safetensors");
        Files.deleteIfExists(out);
        try (SafetensorsWriter w = SafetensorsWriter.begin(out, metadata,
                name.isEmpty() ? List.of() : List.of(new SafetensorsWriter.PlannedTensor(name, SafetensorsDtype.F32, shape)), false)) {
            if (!name.isEmpty()) {
                w.write(name, MemorySegment.ofArray(data));
            }
            w.finish();
        }
        return Files.readAllBytes(out);
    }

    /** Expected bytes are the literal arrays of {@code test_serialization} in huggingface/safetensors tensor.rs. */
    @Test
    void matchesReferenceTestSerialization() throws IOException {
        byte[] expected = bytes(64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
                116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
                58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
                101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
                0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64);
        assertArrayEquals(expected, writeOne("attn.0", new long[] {1, 2, 3}, f32(0, 1, 2, 3, 4, 5), null));
    }

    /** {@code test_serialization_forced_alignement} in tensor.rs: 7 padding spaces. */
    @Test
    void matchesReferenceForcedAlignment() throws IOException {
        byte[] expected = bytes(72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
                121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
                91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
                115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
                32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
                160, 64);
        assertArrayEquals(expected, writeOne("attn0", new long[] {1, 1, 2, 3}, f32(0, 1, 2, 3, 4, 5), null));
    }

    /** {@code test_empty} in tensor.rs, without and with {@code {"framework": "pt"}} metadata. */
    @Test
    void matchesReferenceEmpty() throws IOException {
        assertArrayEquals(bytes(8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32),
                writeOne("", null, null, null));
        byte[] withMeta = bytes(40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
                95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
                116, 34, 125, 125, 32, 32, 32, 32, 32);
        assertArrayEquals(withMeta, writeOne("", null, null, Map.of("framework", "pt")));
    }

    @Test
    void ordersByDescendingDtypeThenNameAndRoundTrips() throws IOException {
        Path out = tmp.resolve("mixed.safetensors");
        List<SafetensorsWriter.PlannedTensor> plan = List.of(
                new SafetensorsWriter.PlannedTensor("b", SafetensorsDtype.U8, new long[] {3}),
                new SafetensorsWriter.PlannedTensor("a", SafetensorsDtype.U8, new long[] {2}),
                new SafetensorsWriter.PlannedTensor("z", SafetensorsDtype.F64, new long[] {1}),
                new SafetensorsWriter.PlannedTensor("q\n\"é", SafetensorsDtype.BF16, new long[] {2, 1}),
                new SafetensorsWriter.PlannedTensor("i", SafetensorsDtype.I64, new long[] {}),
                new SafetensorsWriter.PlannedTensor("empty", SafetensorsDtype.F32, new long[] {0, 5}));
        try (SafetensorsWriter w = SafetensorsWriter.begin(out, Map.of("k", "v\u0001"), plan, false)) {
            // Dtype enum order in tensor.rs: ... U8 < ... < BF16 < ... < F32 < F64 < I64; writer sorts descending.
            assertEquals(List.of("i", "z", "empty", "q\n\"é", "a", "b"), w.order().stream().map(SafetensorsTensorInfo::name).toList());
            byte value = 1;
            for (SafetensorsTensorInfo t : w.order()) {
                byte[] data = new byte[(int) t.byteSize()];
                for (int i = 0; i < data.length; i++) {
                    data[i] = value++;
                }
                // exercise the chunked path: one byte at a time
                w.startTensor(t.name());
                for (byte b : data) {
                    w.writeChunk(MemorySegment.ofArray(new byte[] {b}));
                }
                w.endTensor();
            }
            w.finish();
        }
        byte[] file = Files.readAllBytes(out);
        String header = new String(file, 8, (int) ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0),
                java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{\"k\":\"v\\u0001\"},\"i\":{\"dtype\":\"I64\",\"shape\":[],"), header);
        assertTrue(header.contains("\"q\\n\\\"é\":{\"dtype\":\"BF16\""), header);
        try (SafetensorsFile f = SafetensorsReader.open(out)) {
            assertEquals(Map.of("k", "v\u0001"), f.metadata());
            assertEquals(List.of("i", "z", "empty", "q\n\"é", "a", "b"), f.names());
            assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, f.rawBytes("i").toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            assertEquals(0, f.rawBytes("empty").byteSize());
            assertArrayEquals(new long[] {2, 1}, f.view("q\n\"é").shape());
            assertThrows(io.falconq.formats.io.InvalidInputException.class, () -> f.view("a"), "U8 has no ggml type");
        }
    }

    @Test
    void sinkEnforcesOrderAndExactSizesAndCloseWithoutFinishLeavesNothing() throws IOException {
        Path out = tmp.resolve("strict.safetensors");
        List<SafetensorsWriter.PlannedTensor> plan = List.of(
                new SafetensorsWriter.PlannedTensor("a", SafetensorsDtype.F32, new long[] {2}),
                new SafetensorsWriter.PlannedTensor("b", SafetensorsDtype.F32, new long[] {1}));
        try (SafetensorsWriter w = SafetensorsWriter.begin(out, plan, false)) {
            assertThrows(IllegalStateException.class, () -> w.write("b", MemorySegment.ofArray(new byte[4])), "out of order");
            assertThrows(IllegalStateException.class, () -> w.write("a", MemorySegment.ofArray(new byte[7])), "short");
            w.startTensor("a");
            w.writeChunk(MemorySegment.ofArray(new byte[4]));
            assertThrows(IllegalStateException.class, () -> w.writeChunk(MemorySegment.ofArray(new byte[5])), "long");
            assertThrows(IllegalStateException.class, w::finish, "incomplete");
        }
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "temporary file must be deleted");
        }
    }
}
