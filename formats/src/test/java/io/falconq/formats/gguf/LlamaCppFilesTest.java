package io.falconq.formats.gguf;

import io.falconq.formats.testing.SharedGroundTruth;
import io.falconq.formats.tensor.TensorView;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reads every GGUF that llama.cpp's own tools produced (../shared/llamacpp, see its README.md). */
class LlamaCppFilesTest {
    private static List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(SharedGroundTruth.path("llamacpp"))) {
            List<Path> files = s.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
            assertFalse(files.isEmpty(), "no .gguf files in shared/llamacpp");
            return files;
        }
    }

    @Test
    void everyFileOpensAndItsPaddedTensorSizesAddUpToTheFileSize() throws IOException {
        for (Path p : files()) {
            try (GgufFile f = GgufReader.open(p)) {
                assertEquals(3, f.version(), p.toString());
                assertEquals(32, f.alignment(), p + ": llama.cpp's tools write alignment 32 (GGUF-NOTES §1.2)");
                assertEquals(0, f.dataOffset() % 32, p.toString());
                long end = f.dataOffset();
                for (GgufTensorInfo t : f.tensorInfos()) {
                    assertEquals(end - f.dataOffset(), t.offset(), p + " " + t.name());
                    end += (t.byteSize() + 31) / 32 * 32;
                    TensorView v = f.view(t.name());
                    assertEquals(t.byteSize(), v.data().byteSize());
                    assertEquals(t.elementCount(), v.elementCount());
                }
                // llama.cpp's writer pads the last blob too, so the padded sizes account for every byte.
                assertEquals(Files.size(p), end, p + ": header + padded tensor data must be the whole file");
            }
        }
    }

    @Test
    void f32FileHasFalconH1MetadataAndShapes() {
        try (GgufFile f = GgufReader.open(SharedGroundTruth.path("llamacpp/tiny-F32.gguf"))) {
            GgufMetadata m = f.metadata();
            assertEquals("falcon-h1", m.getString("general.architecture"));
            // llamacpp/README.md: metadata starts with general.architecture, general.type, general.name
            assertEquals(List.of("general.architecture", "general.type", "general.name"), m.keys().subList(0, 3));
            // GGUF-NOTES §2.2 types; the tiny model has H = 256, 4 layers (SPEC.md §5)
            assertEquals(256, m.getU32("falcon-h1.embedding_length"));
            assertEquals(4, m.getU32("falcon-h1.block_count"));
            assertEquals(GgufValueType.FLOAT32, m.get("falcon-h1.attention.layer_norm_rms_epsilon").type());
            assertEquals(2, m.getU32("general.quantization_version"));
            assertEquals(4096, m.getStringArray("tokenizer.ggml.tokens").size());
            // token_embd is ne = [H, V] (GGUF-NOTES §2.3) so its PyTorch shape is [V, H]
            GgufTensorInfo embd = f.info("token_embd.weight");
            assertArrayEquals(new long[] {256, 4096}, embd.ne());
            assertArrayEquals(new long[] {4096, 256}, f.view("token_embd.weight").shape());
            // ssm_a is ne = [1, Hs]: reversed, it keeps its leading [Hs, 1]
            GgufTensorInfo ssmA = f.info("blk.0.ssm_a");
            assertEquals(1, ssmA.ne()[0]);
            assertArrayEquals(new long[] {ssmA.ne()[1], 1}, f.view("blk.0.ssm_a").shape());
            assertTrue(m.getU32("falcon-h1.ssm.time_step_rank") == ssmA.ne()[1]);
        }
    }
}
