package io.falconq.intquant;

import io.falconq.convert.TestData;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.model.FalconH1Config;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float mixer AWQ scores candidates with reproduces the PyTorch reference's intermediates of the tiny model
 * ({@code golden/hidden_states}, float32 computation of the BF16 weights, first golden prompt): from layer l's
 * {@code input_layernorm} output it must give {@code mamba_branch + attn_branch} of that layer.
 */
class AwqMixerTest {
    private static Path shared(String relative) {
        return TestData.shared(relative);
    }

    @Test
    void mixerOutputMatchesTheReferenceOnEveryLayer() throws IOException {
        Path golden = shared("models/falcon-h1-tiny/golden/hidden_states");
        try (HfCheckpoint src = HfCheckpoint.open(shared("models/falcon-h1-tiny"))) {
            FalconH1Config c = FalconH1Config.parse(src.configJson(), "tiny config.json");
            for (int layer = 0; layer < c.numLayers(); layer++) {
                AwqMixer.Weights w = weights(src, layer);
                float[] x = GoldenNpy.read(golden.resolve("layer" + layer + "_input_layernorm.npy"));
                float[] mamba = GoldenNpy.read(golden.resolve("layer" + layer + "_mamba_branch.npy"));
                float[] attn = GoldenNpy.read(golden.resolve("layer" + layer + "_attn_branch.npy"));
                int n = x.length / c.hiddenSize();
                float[] y = new AwqMixer(c, n).forward(w, x, n);
                assertEquals(mamba.length, y.length);
                double maxRef = 0;
                double maxErr = 0;
                for (int i = 0; i < y.length; i++) {
                    double ref = (double) mamba[i] + attn[i];
                    maxRef = Math.max(maxRef, Math.abs(ref));
                    maxErr = Math.max(maxErr, Math.abs(y[i] - ref));
                }
                // both sides are float32 sums of the same BF16 weights in different orders: relative error of a
                // few 1e-6 per op over a few hundred terms and a 24-token scan
                assertTrue(maxErr <= 1e-4 * maxRef, "layer " + layer + ": max |Δ| " + maxErr + " vs max |ref| " + maxRef);
            }
        }
    }

    /** Layer {@code layer}'s mixer parameters straight from the checkpoint, in float (shared with AwqNetworkTest). */
    static AwqMixer.Weights weights(HfCheckpoint src, int layer) {
        String p = "model.layers." + layer + ".";
        return new AwqMixer.Weights(f(src, p + "self_attn.q_proj.weight"),
                f(src, p + "self_attn.k_proj.weight"), f(src, p + "self_attn.v_proj.weight"),
                f(src, p + "self_attn.o_proj.weight"), f(src, p + "mamba.in_proj.weight"),
                f(src, p + "mamba.out_proj.weight"), f(src, p + "mamba.conv1d.weight"),
                f(src, p + "mamba.conv1d.bias"), f(src, p + "mamba.dt_bias"), f(src, p + "mamba.A_log"),
                f(src, p + "mamba.D"), f(src, p + "mamba.norm.weight"));
    }

    static float[] f(HfCheckpoint src, String name) {
        return GptqCheckpointWriter.toFloats(src.view(name));
    }
}
