package io.falconq.formats.imatrix;

import io.falconq.formats.io.FormatException;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.testing.SharedGroundTruth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ImatrixReaderTest {
    @TempDir
    Path tmp;

    /**
     * llama-imatrix's file for the tiny model (llamacpp/README.md: 67 chunks of 512 tokens of corpus/calib.txt):
     * the nine matmul weights of each of the 4 layers, every token of every chunk counted (GGUF-NOTES.md §6.4).
     */
    @Test
    void readsLlamaImatrixGguf() {
        ImatrixFile f = ImatrixReader.read(SharedGroundTruth.path("llamacpp/imatrix-calib.gguf"));
        assertFalse(f.legacy());
        assertTrue(f.hasMetadata());
        assertEquals(List.of("corpus/calib.txt"), f.datasets());
        assertEquals(67, f.chunkCount());
        assertEquals(512, f.chunkSize());
        assertEquals(36, f.entries().size());
        ImatrixEntry k = f.entry("blk.0.attn_k.weight").orElseThrow();
        assertEquals(256, k.columns());
        assertArrayEquals(new long[]{67L * 512}, k.counts());
        assertEquals(384, f.entry("blk.3.ssm_out.weight").orElseThrow().columns());
        assertEquals(768, f.entry("blk.2.ffn_down.weight").orElseThrow().columns());
        float[] imp = f.importance("blk.0.attn_k.weight").orElseThrow();
        float[] sums = k.sums();
        for (int i = 0; i < imp.length; i++) {
            assertEquals(sums[i] / (float) (67 * 512), imp[i]);
            assertTrue(imp[i] > 0 && Float.isFinite(imp[i]));
        }
        assertTrue(f.importance("token_embd.weight").isEmpty());
    }

    @Test
    void readsLegacyDat() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        le(b, 2);
        entry(b, "blk.0.attn_q.weight", 3, new float[]{3f, 6f});
        entry(b, "blk.0.ffn_down.weight", 0, new float[]{5f});
        le(b, 42);
        byte[] ds = "calib.txt".getBytes(StandardCharsets.UTF_8);
        le(b, ds.length);
        b.write(ds);
        Path p = tmp.resolve("imatrix.dat");
        Files.write(p, b.toByteArray());
        ImatrixFile f = ImatrixReader.read(p);
        assertTrue(f.legacy());
        assertEquals(42, f.chunkCount());
        assertEquals(List.of("calib.txt"), f.datasets());
        // load_imatrix: legacy sums are divided by ncall; ncall 0 keeps them
        assertArrayEquals(new float[]{1f, 2f}, f.importance("blk.0.attn_q.weight").orElseThrow());
        assertArrayEquals(new float[]{5f}, f.importance("blk.0.ffn_down.weight").orElseThrow());
    }

    @Test
    void rejectsTruncatedLegacyAndGarbage() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        le(b, 1);
        le(b, 1000);
        Path p = tmp.resolve("bad.dat");
        Files.write(p, b.toByteArray());
        var e = assertThrows(FormatException.class, () -> ImatrixReader.read(p));
        assertTrue(e.getMessage().contains("name length 1000"), e.getMessage());
        Path zero = tmp.resolve("zero.dat");
        Files.write(zero, new byte[]{0, 0, 0, 0});
        assertThrows(InvalidInputException.class, () -> ImatrixReader.read(zero));
    }

    private static void entry(ByteArrayOutputStream b, String name, int ncall, float[] v) throws Exception {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        le(b, n.length);
        b.write(n);
        le(b, ncall);
        le(b, v.length);
        for (float x : v) {
            le(b, Float.floatToRawIntBits(x));
        }
    }

    private static void le(ByteArrayOutputStream b, int v) {
        b.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }
}
