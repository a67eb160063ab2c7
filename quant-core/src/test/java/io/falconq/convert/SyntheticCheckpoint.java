package io.falconq.convert;

import io.falconq.formats.io.OutputException;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsTensorInfo;
import io.falconq.formats.safetensors.SafetensorsWriter;
import io.falconq.model.FalconH1Config;
import io.falconq.model.TensorRole;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test fixture: a small Hugging Face Falcon-H1 checkpoint with seeded random BF16 weights for configs the shared data
 * does not cover (tied embeddings, padded vocabularies). Weights are uniform in ±0.05, norms ≈ 1, A_log in [0, 2.7].
 * (The user-facing generator for benchmarks is {@code falconq synth}, in runtime; quant-core cannot depend on it.)
 */
final class SyntheticCheckpoint {
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK = 1 << 20;

    private SyntheticCheckpoint() {
    }

    /**
     * Writes {@code config.json} (the given config, any {@code _provenance} block dropped), the tokenizer files and
     * {@code model.safetensors} into {@code outDir}.
     */
    static void write(Path outDir, Path configJson, Path tokenizerDir, long seed) {
        try {
            Files.createDirectories(outDir);
            var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Files.readAllBytes(configJson));
            ((com.fasterxml.jackson.databind.node.ObjectNode) json).remove("_provenance");
            Files.writeString(outDir.resolve("config.json"), json.toPrettyString());
            for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
                Path src = tokenizerDir.resolve(f);
                if (Files.isRegularFile(src)) {
                    Files.copy(src, outDir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new OutputException(outDir + ": cannot write config/tokenizer: " + e.getMessage(), e);
        }
        FalconH1Config c = FalconH1Config.read(outDir.resolve("config.json"));
        Map<String, TensorRole> roles = new HashMap<>();
        List<SafetensorsWriter.PlannedTensor> planned = new ArrayList<>();
        for (int layer = -1; layer < c.numLayers(); layer++) {
            for (TensorRole r : TensorRole.values()) {
                // a tied checkpoint has no lm_head.weight (the converter then writes output.weight from the embeddings)
                boolean tiedHead = r == TensorRole.OUTPUT && c.tieWordEmbeddings();
                if (r.perLayer() == (layer >= 0) && r.presentIn(c) && !tiedHead) {
                    String name = r.hfName(layer);
                    roles.put(name, r);
                    planned.add(new SafetensorsWriter.PlannedTensor(name, SafetensorsDtype.BF16, r.hfShape(c)));
                }
            }
        }
        try (SafetensorsWriter w = SafetensorsWriter.begin(outDir.resolve("model.safetensors"), planned, true)) {
            byte[] buf = new byte[2 * CHUNK];
            MemorySegment seg = MemorySegment.ofArray(buf);
            for (SafetensorsTensorInfo t : w.order()) {
                TensorRole role = roles.get(t.name());
                long n = 1;
                for (long d : t.shape()) {
                    n *= d;
                }
                long state = seed * 0x9E3779B97F4A7C15L ^ t.name().hashCode();
                w.startTensor(t.name());
                for (long done = 0; done < n; done += CHUNK) {
                    int m = (int) Math.min(CHUNK, n - done);
                    for (int i = 0; i < m; i++) {
                        state ^= state << 13;
                        state ^= state >>> 7;
                        state ^= state << 17;
                        float u = (state >>> 40) / (float) (1 << 24); // [0, 1)
                        seg.set(BF16, 2L * i, toBf16(value(role, u)));
                    }
                    w.writeChunk(seg.asSlice(0, 2L * m));
                }
                w.endTensor();
            }
            w.finish();
        }
    }

    private static float value(TensorRole role, float u) {
        return switch (role) {
            case OUTPUT_NORM, ATTN_NORM, FFN_NORM, SSM_NORM, SSM_D -> 0.9f + 0.2f * u;
            case SSM_A -> 2.7f * u; // A_log: A = -exp(A_log) in [-15, -1]
            default -> (u - 0.5f) * 0.1f;
        };
    }

    private static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
