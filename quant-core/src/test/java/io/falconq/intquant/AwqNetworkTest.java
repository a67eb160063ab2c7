package io.falconq.intquant;

import io.falconq.convert.TestData;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.model.FalconH1Config;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float network AWQ's downstream loss runs reproduces the PyTorch reference ({@code golden/hidden_states}:
 * float32 computation of the tiny model's BF16 weights on the first golden prompt): from the golden
 * {@code embeddings}, every {@code layerN_output}, the {@code final_layernorm} and the logits; and its KL
 * divergence equals a double-precision computation from the logits.
 */
class AwqNetworkTest {
    private static float[] f(HfCheckpoint src, String name) {
        return AwqMixerTest.f(src, name);
    }

    static AwqNetwork.Layer layer(HfCheckpoint src, int layer) {
        String p = "model.layers." + layer + ".";
        AwqMixer.Weights w = AwqMixerTest.weights(src, layer);
        return new AwqNetwork.Layer(f(src, p + "input_layernorm.weight"), w, f(src, p + "pre_ff_layernorm.weight"),
                f(src, p + "feed_forward.gate_proj.weight"), f(src, p + "feed_forward.up_proj.weight"),
                f(src, p + "feed_forward.down_proj.weight"));
    }

    private static void assertClose(float[] ref, float[] y, double relTol, String what) {
        assertEquals(ref.length, y.length, what);
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < y.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
            maxErr = Math.max(maxErr, Math.abs(y[i] - ref[i]));
        }
        assertTrue(maxErr <= relTol * maxRef, what + ": max |Δ| " + maxErr + " vs max |ref| " + maxRef);
    }

    private static double logSumExp(double[] z) {
        double mx = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            mx = Math.max(mx, v);
        }
        double sum = 0;
        for (double v : z) {
            sum += Math.exp(v - mx);
        }
        return mx + Math.log(sum);
    }

    @Test
    void layersAndHeadMatchTheReference() throws IOException {
        Path golden = TestData.shared("models/falcon-h1-tiny/golden/hidden_states");
        try (HfCheckpoint src = HfCheckpoint.open(TestData.shared("models/falcon-h1-tiny"))) {
            FalconH1Config c = FalconH1Config.parse(src.configJson(), "tiny config.json");
            float[] h = GoldenNpy.read(golden.resolve("embeddings.npy"));
            int n = h.length / c.hiddenSize();
            AwqNetwork net = new AwqNetwork(c, n, f(src, "model.final_layernorm.weight"), f(src, "lm_head.weight"));
            for (int l = 0; l < c.numLayers(); l++) {
                // start every layer from the reference input, so errors do not accumulate across layers
                float[] in = l == 0 ? h : GoldenNpy.read(golden.resolve("layer" + (l - 1) + "_output.npy"));
                AwqNetwork.Layer w = layer(src, l);
                float[] mid = net.afterMixer(w, in, n);
                // float32 sums of the same BF16 weights in different orders, through a 24-token scan and softmax:
                // a few 1e-6 relative per op; 1e-4 of the largest value leaves room for the sums of a few hundred
                assertClose(GoldenNpy.read(golden.resolve("layer" + l + "_post_mixer_residual.npy")), mid, 1e-4, "layer " + l + " mixer");
                assertClose(GoldenNpy.read(golden.resolve("layer" + l + "_output.npy")), net.afterMlp(w, mid, n), 1e-4, "layer " + l);
            }
            float[] last = GoldenNpy.read(golden.resolve("layer" + (c.numLayers() - 1) + "_output.npy"));
            float[] normed = net.head(last, n);
            assertClose(GoldenNpy.read(golden.resolve("final_layernorm.npy")), normed, 1e-5, "final_layernorm");

            // the KL divergence against a direct double-precision computation from logits, for a perturbed input
            float[] lm = f(src, "lm_head.weight");
            int hs = c.hiddenSize();
            int vocab = c.vocabSize();
            float[] other = normed.clone();
            Random rnd = new Random(5);
            for (int i = 0; i < other.length; i++) {
                other[i] += (float) rnd.nextGaussian() * 0.05f;
            }
            double direct = 0;
            for (int t = 0; t < n; t++) {
                double[] zp = new double[vocab];
                double[] zq = new double[vocab];
                for (int v = 0; v < vocab; v++) {
                    for (int i = 0; i < hs; i++) {
                        zp[v] += (double) lm[v * hs + i] * normed[t * hs + i] * c.lmHeadMultiplier();
                        zq[v] += (double) lm[v * hs + i] * other[t * hs + i] * c.lmHeadMultiplier();
                    }
                }
                double lp = logSumExp(zp);
                double lq = logSumExp(zq);
                for (int v = 0; v < vocab; v++) {
                    direct += Math.exp(zp[v] - lp) * ((zp[v] - lp) - (zq[v] - lq));
                }
            }
            float[] logP = net.logProbs(normed, n);
            double kl = net.klDivergence(logP, net.logProbs(other, n), n);
            assertTrue(direct > 0, "the perturbation changes the distribution");
            // float32 logits (relative error ~1e-6 of values of a few units) against double: the KL here is ~1e-2
            // per token, so 1 % is far above the rounding and far below any real difference
            assertEquals(direct, kl, 1e-2 * direct, "Σ KL(p ‖ q) vs a double-precision reference");
            assertEquals(0.0, net.klDivergence(logP, logP, n), 0.0, "KL(p ‖ p)");

            // and the golden logits follow from the golden final norm through the same head
            float[] logits = GoldenNpy.read(golden.resolve("logits.npy"));
            float[] ours = new float[logits.length];
            for (int t = 0; t < n; t++) {
                for (int v = 0; v < c.vocabSize(); v++) {
                    ours[t * c.vocabSize() + v] = (float) (AwqScaler.dot(lm, v * hs, normed, t * hs, hs)
                            * c.lmHeadMultiplier());
                }
            }
            assertClose(logits, ours, 1e-4, "logits");
            // logProbs is the log-softmax of those logits
            float[] lpRef = new float[logits.length];
            for (int t = 0; t < n; t++) {
                double[] z = new double[c.vocabSize()];
                for (int v = 0; v < z.length; v++) {
                    z[v] = logits[t * z.length + v];
                }
                double lse = logSumExp(z);
                for (int v = 0; v < z.length; v++) {
                    lpRef[t * z.length + v] = (float) (z[v] - lse);
                }
            }
            assertClose(lpRef, logP, 1e-4, "log-probabilities");
        }
    }

    /**
     * The downstream loss of layer 0's window (all four layers, then the output distribution): exactly 0 for the
     * float layer (the candidate path recomputes the reference bit for bit, whatever the thread count), positive
     * when in_proj is rounded to 4 bits, and larger still with every linear of the layer rounded.
     */
    @Test
    void windowLossIsZeroInFloatAndGrowsWithQuantization() throws IOException {
        Path golden = TestData.shared("models/falcon-h1-tiny/golden/hidden_states");
        try (HfCheckpoint src = HfCheckpoint.open(TestData.shared("models/falcon-h1-tiny"))) {
            FalconH1Config c = FalconH1Config.parse(src.configJson(), "tiny config.json");
            float[] h = GoldenNpy.read(golden.resolve("embeddings.npy"));
            int n = h.length / c.hiddenSize();
            AwqNetwork net = new AwqNetwork(c, n, f(src, "model.final_layernorm.weight"), f(src, "lm_head.weight"));
            java.util.List<AwqNetwork.Layer> layers = new java.util.ArrayList<>();
            for (int l = 0; l < c.numLayers(); l++) {
                layers.add(layer(src, l));
            }
            AwqNetwork.Window window = net.new Window(java.util.List.of(h), layers, true);
            AwqNetwork.Layer w = layers.getFirst();
            assertEquals(0.0, window.loss(w, false), 0.0, "float layer, mixer recomputed");
            assertEquals(0.0, window.loss(w, true), 0.0, "float layer, mixer reused");

            IntQuantScheme s = IntQuantScheme.w4(128);
            int hs = c.hiddenSize();
            float[] ones = new float[hs];
            java.util.Arrays.fill(ones, 1f);
            AwqMixer.Weights m = w.mixer();
            AwqNetwork.Layer inOnly = w.withMixer(m.withInputs(m.q(), m.k(), m.v(),
                    AwqScaler.quantizedUnscaled(m.inProj(), c.inProjSize(), hs, ones, s)));
            double inLoss = window.loss(inOnly, false);
            float[] onesInter = new float[c.intermediateSize()];
            java.util.Arrays.fill(onesInter, 1f);
            float[] onesSsm = new float[c.ssmInnerSize()];
            java.util.Arrays.fill(onesSsm, 1f);
            float[] onesQ = new float[c.qSize()];
            java.util.Arrays.fill(onesQ, 1f);
            AwqMixer.Weights mq = m.withInputs(AwqScaler.quantizedUnscaled(m.q(), c.qSize(), hs, ones, s),
                    AwqScaler.quantizedUnscaled(m.k(), c.kvSize(), hs, ones, s),
                    AwqScaler.quantizedUnscaled(m.v(), c.kvSize(), hs, ones, s),
                    AwqScaler.quantizedUnscaled(m.inProj(), c.inProjSize(), hs, ones, s))
                    .withOutputs(AwqScaler.quantizedUnscaled(m.o(), hs, c.qSize(), onesQ, s),
                            AwqScaler.quantizedUnscaled(m.outProj(), hs, c.ssmInnerSize(), onesSsm, s));
            AwqNetwork.Layer all = w.withMixer(mq).withMlp(
                    AwqScaler.quantizedUnscaled(w.gate(), c.intermediateSize(), hs, ones, s),
                    AwqScaler.quantizedUnscaled(w.up(), c.intermediateSize(), hs, ones, s),
                    AwqScaler.quantizedUnscaled(w.down(), hs, c.intermediateSize(), onesInter, s));
            double allLoss = window.loss(all, false);
            assertTrue(inLoss > 0, "in_proj rounded: KL " + inLoss);
            assertTrue(allLoss > inLoss, "whole layer rounded: KL " + allLoss + " vs in_proj only " + inLoss);
        }
    }
}
