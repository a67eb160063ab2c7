package io.falconq.formats.gguf;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.OutputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GgufRoundTripTest {
    @TempDir
    Path tmp;

    /** Every scalar type and every array element type, including edge values, in a fixed insertion order. */
    private static GgufMetadata everyValueType() {
        GgufMetadata m = new GgufMetadata();
        m.put("u8", GgufValue.u8(255));
        m.put("i8", GgufValue.i8((byte) -128));
        m.put("u16", GgufValue.u16(65535));
        m.put("i16", GgufValue.i16((short) -32768));
        m.put("u32", GgufValue.u32(0xffff_ffffL));
        m.put("i32", GgufValue.i32(Integer.MIN_VALUE));
        m.put("f32", GgufValue.f32(Float.intBitsToFloat(0x7fc00001))); // a NaN payload must survive
        m.put("bool.true", GgufValue.bool(true));
        m.put("bool.false", GgufValue.bool(false));
        m.put("string", GgufValue.string("Ünïcödé ✓ \u0000 end"));
        m.put("string.empty", GgufValue.string(""));
        m.put("u64", GgufValue.u64(-1L)); // 2^64-1
        m.put("i64", GgufValue.i64(Long.MIN_VALUE));
        m.put("f64", GgufValue.f64(-0.0));
        m.put("arr.u8", GgufValue.array(GgufValueType.UINT8, new byte[] {0, 1, (byte) 255}));
        m.put("arr.i8", GgufValue.array(GgufValueType.INT8, new byte[] {-1, 2}));
        m.put("arr.u16", GgufValue.array(GgufValueType.UINT16, new short[] {(short) 65535, 7}));
        m.put("arr.i16", GgufValue.array(GgufValueType.INT16, new short[] {-5}));
        m.put("arr.u32", GgufValue.u32Array(new int[] {-1, 0, 42}));
        m.put("arr.i32", GgufValue.i32Array(new int[] {1, -2, 3}));
        m.put("arr.f32", GgufValue.f32Array(new float[] {1.5f, Float.NEGATIVE_INFINITY}));
        m.put("arr.bool", GgufValue.boolArray(new boolean[] {true, false, true}));
        m.put("arr.string", GgufValue.stringArray(List.of("a", "", "Ġhello", "<|endoftext|>")));
        m.put("arr.u64", GgufValue.array(GgufValueType.UINT64, new long[] {Long.MIN_VALUE, 3}));
        m.put("arr.i64", GgufValue.array(GgufValueType.INT64, new long[] {-9}));
        m.put("arr.f64", GgufValue.array(GgufValueType.FLOAT64, new double[] {Math.PI}));
        m.put("arr.empty", GgufValue.array(GgufValueType.UINT32, new int[0]));
        return m;
    }

    private static byte[] pattern(long n, int seed) {
        byte[] b = new byte[(int) n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void metadataTensorInfosAndBytesSurviveAWriteReadCycle() throws IOException {
        GgufMetadata meta = everyValueType();
        List<GgufWriter.PlannedTensor> plan = List.of(
                new GgufWriter.PlannedTensor("f32.1d", GgmlType.F32, new long[] {5}),
                new GgufWriter.PlannedTensor("f16.2d", GgmlType.F16, new long[] {3, 7}),
                new GgufWriter.PlannedTensor("q8.3d", GgmlType.Q8_0, new long[] {64, 2, 3}),
                new GgufWriter.PlannedTensor("q4k.4d", GgmlType.Q4_K, new long[] {256, 1, 2, 1}),
                new GgufWriter.PlannedTensor("empty", GgmlType.BF16, new long[] {0, 4}),
                GgufWriter.PlannedTensor.fromShape("i32.from.shape", GgmlType.I32, new long[] {2, 3}));
        Path out = tmp.resolve("all.gguf");
        List<byte[]> data = new ArrayList<>();
        try (GgufWriter w = GgufWriter.begin(out, meta, plan, false)) {
            assertEquals(32, w.alignment());
            int seed = 0;
            for (GgufTensorInfo t : w.layout()) {
                byte[] bytes = pattern(t.byteSize(), seed++);
                data.add(bytes);
                w.write(t.name(), MemorySegment.ofArray(bytes));
            }
            w.finish();
            assertEquals(Files.size(out), w.fileSize());
        }
        try (GgufFile f = GgufReader.open(out)) {
            assertEquals(3, f.version());
            assertEquals(meta, f.metadata(), "every value, with its type, in order");
            assertEquals(meta.keys(), f.metadata().keys());
            assertEquals(0x7fc00001, Float.floatToRawIntBits(f.metadata().getF32("f32")));
            assertEquals(0xffff_ffffL, f.metadata().getU32("u32"));
            assertEquals(-1L, f.metadata().getU64("u64"));
            assertEquals("Ünïcödé ✓ \u0000 end", f.metadata().getString("string"));
            assertEquals(List.of("a", "", "Ġhello", "<|endoftext|>"), f.metadata().getStringArray("arr.string"));
            assertEquals(plan.size(), f.tensorInfos().size());
            for (int i = 0; i < plan.size(); i++) {
                GgufTensorInfo t = f.tensorInfos().get(i);
                assertEquals(plan.get(i).name(), t.name());
                assertEquals(plan.get(i).type(), t.type());
                assertArrayEquals(plan.get(i).ne(), t.ne());
                assertEquals(0, t.offset() % 32);
                assertArrayEquals(data.get(i), f.rawBytes(t.name()).toArray(ValueLayout.JAVA_BYTE), t.name());
            }
            assertArrayEquals(new long[] {2, 3}, f.view("i32.from.shape").shape());
            assertArrayEquals(new long[] {3, 2, 64}, f.view("q8.3d").shape());
            assertArrayEquals(new long[] {2, 1, 256}, f.view("q4k.4d").shape(), "trailing ne 1 dropped, inner 1 kept");
            assertEquals(0, f.view("empty").data().byteSize());
        }
    }

    @Test
    void customAlignmentIsHonouredAndRecorded() throws IOException {
        GgufMetadata meta = new GgufMetadata().putU32(GgufMetadata.ALIGNMENT_KEY, 64).putString("general.architecture", "x");
        Path out = tmp.resolve("a64.gguf");
        try (GgufWriter w = GgufWriter.begin(out, meta, List.of(
                new GgufWriter.PlannedTensor("a", GgmlType.F32, new long[] {3}),
                new GgufWriter.PlannedTensor("b", GgmlType.F32, new long[] {1})), false)) {
            w.write("a", MemorySegment.ofArray(new byte[12]));
            w.write("b", MemorySegment.ofArray(new byte[] {1, 2, 3, 4}));
            w.finish();
        }
        try (GgufFile f = GgufReader.open(out)) {
            assertEquals(64, f.alignment());
            assertEquals(0, f.dataOffset() % 64);
            assertEquals(64, f.info("b").offset());
            assertEquals(f.dataOffset() + 128, Files.size(out), "last blob padded to 64 too");
        }
    }

    @Test
    void typedGettersNameKeyAndBothTypes() {
        GgufMetadata m = everyValueType().readOnlyCopy("x.gguf");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> m.getU32("i32"));
        assertTrue(e.getMessage().contains("'i32'") && e.getMessage().contains("INT32") && e.getMessage().contains("UINT32"), e.getMessage());
        e = assertThrows(InvalidInputException.class, () -> m.getStringArray("arr.i32"));
        assertTrue(e.getMessage().contains("ARRAY[INT32]") && e.getMessage().contains("ARRAY[STRING]"), e.getMessage());
        e = assertThrows(InvalidInputException.class, () -> m.getString("nope"));
        assertTrue(e.getMessage().contains("x.gguf") && e.getMessage().contains("missing GGUF key 'nope'"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> m.putU32("k", 1));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.u32(-1));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.u8(256));
        assertThrows(IllegalArgumentException.class, () -> new GgufMetadata().put("", GgufValue.u8(1)));
    }

    @Test
    void writerAcceptsTensorsOnlyInOrderWithExactSizes() throws IOException {
        Path out = tmp.resolve("strict.gguf");
        List<GgufWriter.PlannedTensor> plan = List.of(
                new GgufWriter.PlannedTensor("a", GgmlType.F32, new long[] {2}),
                new GgufWriter.PlannedTensor("b", GgmlType.Q8_0, new long[] {32}));
        try (GgufWriter w = GgufWriter.begin(out, new GgufMetadata(), plan, false)) {
            assertThrows(IllegalStateException.class, () -> w.write("b", MemorySegment.ofArray(new byte[34])), "wrong order");
            assertThrows(IllegalStateException.class, () -> w.write("a", MemorySegment.ofArray(new byte[7])), "short");
            assertThrows(IllegalStateException.class, () -> w.write("a", MemorySegment.ofArray(new byte[9])), "long");
            w.startTensor("a");
            w.writeChunk(MemorySegment.ofArray(new byte[3]));
            assertThrows(IllegalStateException.class, w::endTensor, "incomplete tensor");
            w.writeChunk(MemorySegment.ofArray(new byte[5]));
            w.endTensor();
            assertThrows(IllegalStateException.class, w::finish, "b missing");
        }
        assertFalse(Files.exists(out), "closing without finish leaves no output");
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "and no temporary file");
        }
        Files.writeString(out, "existing");
        assertThrows(OutputException.class, () -> GgufWriter.begin(out, new GgufMetadata(), plan, false));
        assertEquals("existing", Files.readString(out));
    }

    @Test
    void tensorsWrittenInAnotherOrderLandAtTheirPlacesInTheFile() throws IOException {
        List<GgufWriter.PlannedTensor> plan = List.of(
                new GgufWriter.PlannedTensor("a", GgmlType.F32, new long[] {3}),
                new GgufWriter.PlannedTensor("b", GgmlType.Q8_0, new long[] {32}),
                new GgufWriter.PlannedTensor("c", GgmlType.F32, new long[] {5}));
        byte[][] data = {pattern(12, 1), pattern(34, 2), pattern(20, 3)};
        GgufMetadata meta = new GgufMetadata().putString("general.architecture", "test");
        Path inOrder = tmp.resolve("in-order.gguf");
        try (GgufWriter w = GgufWriter.begin(inOrder, meta, plan, false)) {
            for (int i = 0; i < 3; i++) {
                w.write(plan.get(i).name(), MemorySegment.ofArray(data[i]));
            }
            w.finish();
        }
        Path reordered = tmp.resolve("reordered.gguf");
        try (GgufWriter w = GgufWriter.begin(reordered, meta, plan, false, List.of("c", "a", "b"))) {
            assertThrows(IllegalStateException.class, () -> w.write("a", MemorySegment.ofArray(data[0])),
                    "the declared write order starts with c");
            w.write("c", MemorySegment.ofArray(data[2]));
            w.startTensor("a");
            w.writeChunk(MemorySegment.ofArray(data[0]).asSlice(0, 5));
            w.writeChunk(MemorySegment.ofArray(data[0]).asSlice(5));
            w.endTensor();
            w.write("b", MemorySegment.ofArray(data[1]));
            w.finish();
        }
        assertArrayEquals(Files.readAllBytes(inOrder), Files.readAllBytes(reordered));

        for (List<String> bad : List.of(List.of("a", "b"), List.of("a", "b", "c", "c"), List.of("a", "b", "x"))) {
            Path out = tmp.resolve("bad-order.gguf");
            assertThrows(IllegalArgumentException.class, () -> GgufWriter.begin(out, meta, plan, false, bad), bad.toString());
            try (Stream<Path> files = Files.list(tmp)) {
                assertEquals(List.of("in-order.gguf", "reordered.gguf"),
                        files.map(f -> f.getFileName().toString()).sorted().toList(), "nothing left behind for " + bad);
            }
        }
    }

    @Test
    void writerRejectsPlansTheReaderWouldReject() {
        Path out = tmp.resolve("bad.gguf");
        GgufMetadata empty = new GgufMetadata();
        assertThrows(IllegalArgumentException.class, () -> GgufWriter.begin(out, empty,
                List.of(new GgufWriter.PlannedTensor("x".repeat(64), GgmlType.F32, new long[] {1})), false));
        assertThrows(IllegalArgumentException.class, () -> GgufWriter.begin(out, empty,
                List.of(new GgufWriter.PlannedTensor("q", GgmlType.Q4_0, new long[] {31})), false));
        assertThrows(IllegalArgumentException.class, () -> GgufWriter.begin(out, empty,
                List.of(new GgufWriter.PlannedTensor("d", GgmlType.F32, new long[] {1, 1, 1, 1, 1})), false));
        assertThrows(IllegalArgumentException.class, () -> GgufWriter.begin(out, empty, List.of(
                new GgufWriter.PlannedTensor("d", GgmlType.F32, new long[] {1}),
                new GgufWriter.PlannedTensor("d", GgmlType.F32, new long[] {1})), false));
        assertThrows(IllegalArgumentException.class, () -> GgufWriter.begin(out,
                new GgufMetadata().putI32(GgufMetadata.ALIGNMENT_KEY, 32), List.of(), false));
        assertFalse(Files.exists(out));
    }
}
