package io.falconq.formats.gguf;

import io.falconq.formats.testing.SharedGroundTruth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Rewriting each llama.cpp-made GGUF through reader → writer must reproduce it byte for byte: the F32 file was
 * written by gguf-py rules and the quantized ones by llama-quantize's C writer (llamacpp/README.md), so this pins
 * our header encoding, value types, offsets and padding to both reference writers.
 */
class GgufRewriteTest {
    @TempDir
    Path tmp;

    @Test
    void everyLlamaCppFileRewritesByteIdentically() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(SharedGroundTruth.path("llamacpp"))) {
            files = s.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        for (Path p : files) {
            Path out = tmp.resolve(p.getFileName());
            try (GgufFile f = GgufReader.open(p)) {
                List<GgufWriter.PlannedTensor> plan = f.tensorInfos().stream().map(GgufWriter.PlannedTensor::of).toList();
                try (GgufWriter w = GgufWriter.begin(out, f.metadata(), plan, false)) {
                    assertEquals(f.tensorInfos(), w.layout(), p.toString());
                    assertEquals(f.dataOffset(), w.dataOffset(), p.toString());
                    assertEquals(Files.size(p), w.fileSize(), p.toString());
                    for (GgufTensorInfo t : f.tensorInfos()) {
                        w.write(t.name(), f.rawBytes(t.name()));
                    }
                    w.finish();
                }
            }
            assertEquals(-1, Files.mismatch(p, out), p + ": rewrite differs from llama.cpp's file");
            Files.delete(out);
        }
    }
}
