package io.falconq.intquant;

import io.falconq.model.FalconH1Config;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Whole Falcon-H1 decoder layers in float (SPEC.md §1.3: input norm, parallel Mamba + attention mixer
 * ({@link AwqMixer}), residual, pre-FF norm, MLP with its µP multipliers, residual) and the final norm, so that AWQ
 * can score a scale candidate by what its quantization error does <em>downstream</em>: the candidate's block is run
 * quantized, every following layer in float, and the error is measured where perplexity sees it, on the next-token
 * distribution:
 * <pre>
 *   loss = Σ_t KL(p_t ‖ q_t),   p_t = softmax(logits of the float model),   q_t = the same with the candidate
 * </pre>
 * (the expected increase of the negative log-likelihood under the float model's own predictions; a plain logit
 * MSE, {@code Σ_t d_t W_lmᵀW_lm d_tᵀ}, weighs every vocabulary entry alike, also the many the model never predicts,
 * and chose worse scales: BENCHMARKS.md). AutoAWQ measures the output of the inspected
 * module (attention block, MLP, single linear); on Falcon-H1 that misjudges what an error costs after the µP
 * multipliers, RMS norms and residual sums of the later layers (BENCHMARKS.md, issue 6: AWQ made q/k/v, o_proj and
 * gate/up worse than RTN on held-out text although each lowered its own block loss).
 *
 * <p>The downstream run is bounded to {@value #WINDOW_LAYERS} layers (the quantized one included): when the window
 * reaches the last layer the loss is the KL divergence above, otherwise the squared error of the residual stream
 * after the window. Each candidate costs one float forward of the window over the sampled sequences (plus the LM
 * head, vocab × hidden per token, when the window reaches it), so the quantize time grows with the window; a model
 * with at most {@value #WINDOW_LAYERS} layers is searched on the output distribution for every layer.
 */
final class AwqNetwork {
    /** Layers run per candidate, the quantized one included (the downstream window). */
    static final int WINDOW_LAYERS = 4;

    /** One decoder layer's float parameters (HF layouts); norms as stored (after any AWQ division). */
    record Layer(float[] inputNorm, AwqMixer.Weights mixer, float[] preFfNorm, float[] gate, float[] up,
                 float[] down) {
        Layer withMixer(AwqMixer.Weights m) {
            return new Layer(inputNorm, m, preFfNorm, gate, up, down);
        }

        Layer withMlp(float[] g, float[] u, float[] d) {
            return new Layer(inputNorm, mixer, preFfNorm, g, u, d);
        }
    }

    private final FalconH1Config c;
    private final AwqMixer mixer;
    private final float[] finalNorm;
    /** (vocab, hidden) row-major. */
    private final float[] lmHead;
    private final int vocab;

    /**
     * @param lmHead (vocab, hidden) row-major
     */
    AwqNetwork(FalconH1Config c, int maxPositions, float[] finalNorm, float[] lmHead) {
        this.c = c;
        this.mixer = new AwqMixer(c, maxPositions);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.vocab = lmHead.length / c.hiddenSize();
    }

    FalconH1Config config() {
        return c;
    }

    /** w ⊙ x / sqrt(mean(x²) + eps) per row. */
    float[] rmsNorm(float[] x, int n, float[] w) {
        int h = c.hiddenSize();
        float[] y = new float[n * h];
        for (int t = 0; t < n; t++) {
            double ss = 0;
            for (int i = 0; i < h; i++) {
                float v = x[t * h + i];
                ss += v * v;
            }
            float r = (float) (1.0 / Math.sqrt(ss / h + c.rmsNormEps()));
            for (int i = 0; i < h; i++) {
                y[t * h + i] = w[i] * (x[t * h + i] * r);
            }
        }
        return y;
    }

    /** h + mamba(n) + attention(n), n = input_layernorm(h): the residual after the mixer. */
    float[] afterMixer(Layer w, float[] h, int n) {
        float[] y = mixer.forward(w.mixer(), rmsNorm(h, n, w.inputNorm()), n);
        for (int i = 0; i < y.length; i++) {
            y[i] += h[i];
        }
        return y;
    }

    /** mid + down(up(x′) ⊙ silu(gate(x′)·m_gate))·m_down, x′ = pre_ff_layernorm(mid): the layer's output. */
    float[] afterMlp(Layer w, float[] mid, int n) {
        double[] mm = c.mlpMultipliers();
        AwqScaler.Mlp mlp = new AwqScaler.Mlp(w.gate(), w.up(), w.down(), c.hiddenSize(), c.intermediateSize(), mm[0]);
        float[] y = AwqScaler.mlpForward(mlp, w.gate(), w.up(), rmsNorm(mid, n, w.preFfNorm()), n);
        float down = (float) mm[1];
        for (int i = 0; i < y.length; i++) {
            y[i] = mid[i] + y[i] * down;
        }
        return y;
    }

    float[] layer(Layer w, float[] h, int n) {
        return afterMlp(w, afterMixer(w, h, n), n);
    }

    /** final_layernorm(h). */
    float[] head(float[] h, int n) {
        return rmsNorm(h, n, finalNorm);
    }

    /** log softmax(lm_head(x) · lm_head_multiplier) per row of the final-normed x: (n, vocab). */
    float[] logProbs(float[] normed, int n) {
        int h = c.hiddenSize();
        float[] out = new float[n * vocab];
        float m = (float) c.lmHeadMultiplier();
        IntStream.range(0, n).parallel().forEach(t -> {
            int o = t * vocab;
            float mx = Float.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                float z = AwqScaler.dot(lmHead, v * h, normed, t * h, h) * m;
                out[o + v] = z;
                mx = Math.max(mx, z);
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) {
                sum += Math.exp(out[o + v] - mx);
            }
            float lse = (float) (mx + Math.log(sum));
            for (int v = 0; v < vocab; v++) {
                out[o + v] -= lse;
            }
        });
        return out;
    }

    /**
     * Σ_t KL(p_t ‖ q_t) = Σ_t Σ_v p_tv (log p_tv − log q_tv) for reference log-probabilities {@code logP} and
     * the candidate's {@code logQ}, summed over tokens in order (deterministic for any thread count).
     */
    double klDivergence(float[] logP, float[] logQ, int n) {
        double[] perToken = new double[n];
        IntStream.range(0, n).parallel().forEach(t -> {
            double acc = 0;
            for (int v = t * vocab; v < (t + 1) * vocab; v++) {
                acc += Math.exp(logP[v]) * ((double) logP[v] - logQ[v]);
            }
            perToken[t] = acc;
        });
        double sum = 0;
        for (double v : perToken) {
            sum += v;
        }
        return sum;
    }

    static double squaredError(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            sum += d * d;
        }
        return sum;
    }

    /**
     * The downstream scoring of one layer's candidates: the layer's input sequences, the float layers of its
     * window, and the reference end point of each sequence (float everywhere).
     */
    final class Window {
        private final List<float[]> inputs;
        private final List<Layer> layers; // layers[0] is the layer being quantized
        private final boolean reachesHead;
        private final float[][] reference;
        private final float[][] referenceMid;

        /**
         * @param inputs residual stream entering the layer, one (tokens × hidden) array per sequence
         * @param layers float parameters of the layer and of the following ones in the window, in order
         * @param last   whether the window's last layer is the model's last
         */
        Window(List<float[]> inputs, List<Layer> layers, boolean last) {
            this.inputs = inputs;
            this.layers = layers;
            this.reachesHead = last;
            int h = c.hiddenSize();
            reference = new float[inputs.size()][];
            referenceMid = new float[inputs.size()][];
            for (int s = 0; s < inputs.size(); s++) {
                int n = inputs.get(s).length / h;
                referenceMid[s] = afterMixer(layers.getFirst(), inputs.get(s), n);
                reference[s] = end(afterMlp(layers.getFirst(), referenceMid[s], n), n);
            }
        }

        /** Runs the rest of the window from the first layer's output and applies the head if reached. */
        private float[] end(float[] out, int n) {
            float[] h = out;
            for (int i = 1; i < layers.size(); i++) {
                h = layer(layers.get(i), h, n);
            }
            return reachesHead ? logProbs(head(h, n), n) : h;
        }

        /**
         * Loss of the window with its first layer replaced by {@code candidate}; {@code mixerUnchanged} reuses the
         * float mixer output (the candidate differs only in the MLP).
         */
        double loss(Layer candidate, boolean mixerUnchanged) {
            int h = c.hiddenSize();
            double total = 0;
            for (int s = 0; s < inputs.size(); s++) {
                int n = inputs.get(s).length / h;
                float[] mid = mixerUnchanged ? referenceMid[s] : afterMixer(candidate, inputs.get(s), n);
                float[] y = end(afterMlp(candidate, mid, n), n);
                total += reachesHead ? klDivergence(reference[s], y, n) : squaredError(y, reference[s]);
            }
            return total;
        }
    }
}
