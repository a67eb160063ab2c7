package io.falconq.formats.imatrix;

import io.falconq.formats.testing.SharedGroundTruth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class ImatrixWriterTest {
    private static Path shared() {
        return SharedGroundTruth.root();
    }

    @Test
    void rewritingLlamaImatrixIsByteIdentical(@TempDir Path dir) throws IOException {
        Path llama = shared().resolve("llamacpp/imatrix-calib.gguf");
        ImatrixFile in = ImatrixReader.read(llama);
        Path out = dir.resolve("copy.imatrix.gguf");
        ImatrixWriter.writeGguf(out, in.datasets(), in.chunkCount(), in.chunkSize(), in.entries().values(), false);
        assertArrayEquals(Files.readAllBytes(llama), Files.readAllBytes(out),
                "llama-imatrix's file, read and written back, must be the same bytes (key order, 1-D tensors, sort)");
    }

    @Test
    void legacyDatRoundTripsTheMeans(@TempDir Path dir) {
        ImatrixEntry a = new ImatrixEntry("blk.0.attn_q.weight", new float[] {1024f, 2f, 0f}, new long[] {1024});
        ImatrixEntry b = new ImatrixEntry("blk.0.ffn_down.weight", new float[] {3f, 6f}, new long[] {0});
        Path out = dir.resolve("x.dat");
        ImatrixWriter.writeLegacy(out, "corpus/calib.txt", 2, 512, List.of(b, a), false);
        ImatrixFile back = ImatrixReader.read(out);
        assertTrue(back.legacy());
        assertEquals(List.of("corpus/calib.txt"), back.datasets());
        assertEquals(2, back.chunkCount());
        // ncall = ceil(1024 / 512) = 2; stored (sum/count)·ncall; the reader divides by ncall again
        assertArrayEquals(new float[] {1f, 2f / 1024, 0f}, back.importance("blk.0.attn_q.weight").orElseThrow());
        assertArrayEquals(new long[] {2}, back.entry("blk.0.attn_q.weight").orElseThrow().counts());
        // a zero count stores 1 (llama.cpp's "partial data" rule) with ncall 0, read back unchanged
        assertArrayEquals(new float[] {0f, 0f}, back.importance("blk.0.ffn_down.weight").orElseThrow());
    }
}
