package io.falconq.intquant;

import io.falconq.model.FalconH1Config;

import java.util.List;
import java.util.stream.IntStream;

/**
 * The parallel mixer of one Falcon-H1 decoder layer, {@code mamba(n) + attention(n)} (SPEC.md §1.3), run in float
 * on calibration sequences so that AWQ can score the scale shared by q, k, v and mamba.in_proj on the mixer output:
 * AutoAWQ's {@code module2inspect} for the consumers of a norm is the module that reads it (the attention block
 * for a Llama layer); in Falcon-H1 the input norm feeds attention and Mamba in parallel and their outputs are summed
 * into the residual, so the inspected output is that sum. Only q, k, v and in_proj vary between candidates; o_proj,
 * out_proj and every other parameter stay as stored (AutoAWQ likewise keeps the rest of the inspected module in
 * float).
 *
 * <p>Each sequence starts from an empty state at position 0 (as calibration chunks do); the SSM uses the
 * sequential form of the scan.
 */
final class AwqMixer {
    /** The layer's parameters, HF layouts, as floats. */
    record Weights(float[] q, float[] k, float[] v, float[] o, float[] inProj, float[] outProj, float[] convWeight,
                   float[] convBias, float[] dtBias, float[] aLog, float[] d, float[] ssmNorm) {
        Weights withInputs(float[] q2, float[] k2, float[] v2, float[] in2) {
            return new Weights(q2, k2, v2, o, in2, outProj, convWeight, convBias, dtBias, aLog, d, ssmNorm);
        }

        Weights withOutputs(float[] o2, float[] out2) {
            return new Weights(q, k, v, o2, inProj, out2, convWeight, convBias, dtBias, aLog, d, ssmNorm);
        }
    }

    private final FalconH1Config c;
    private final float[] ropeCos;
    private final float[] ropeSin;
    private final int maxPos;

    AwqMixer(FalconH1Config c, int maxPositions) {
        this.c = c;
        this.maxPos = maxPositions;
        int half = c.headDim() / 2;
        ropeCos = new float[maxPositions * half];
        ropeSin = new float[maxPositions * half];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(c.ropeTheta(), -2.0 * i / c.headDim());
                ropeCos[p * half + i] = (float) Math.cos(angle);
                ropeSin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }

    /**
     * AWQ search for the input-norm scale on the mixer output: candidates as {@link AwqScaler#search}, loss
     * {@code Σ ‖mixer(x; W_q) − mixer(x; W)‖²} over the sampled sequences.
     */
    float[] search(float[] meanAbs, Weights w, List<float[]> sequences, IntQuantScheme s) {
        int h = c.hiddenSize();
        AwqScaler.Consumer[] cs = {new AwqScaler.Consumer(w.q(), c.qSize()), new AwqScaler.Consumer(w.k(), c.kvSize()),
                new AwqScaler.Consumer(w.v(), c.kvSize()), new AwqScaler.Consumer(w.inProj(), c.inProjSize())};
        double[] wMean = AwqScaler.weightMean(cs, h, s);
        float[][] reference = new float[sequences.size()][];
        for (int i = 0; i < sequences.size(); i++) {
            reference[i] = forward(w, sequences.get(i), sequences.get(i).length / h);
        }
        float[] best = null;
        double bestLoss = Double.POSITIVE_INFINITY;
        for (int step = 0; step < AwqScaler.GRID; step++) {
            float[] scales = AwqScaler.candidate((double) step / AwqScaler.GRID, meanAbs, wMean, h);
            Weights wq = w.withInputs(AwqScaler.quantizedUnscaled(w.q(), c.qSize(), h, scales, s),
                    AwqScaler.quantizedUnscaled(w.k(), c.kvSize(), h, scales, s),
                    AwqScaler.quantizedUnscaled(w.v(), c.kvSize(), h, scales, s),
                    AwqScaler.quantizedUnscaled(w.inProj(), c.inProjSize(), h, scales, s));
            double loss = 0;
            for (int i = 0; i < sequences.size(); i++) {
                float[] y = forward(wq, sequences.get(i), sequences.get(i).length / h);
                for (int j = 0; j < y.length; j++) {
                    double dlt = (double) y[j] - reference[i][j];
                    loss += dlt * dlt;
                }
            }
            if (loss < bestLoss) {
                bestLoss = loss;
                best = scales;
            }
        }
        return best;
    }

    /** mamba(x) · ssm_out_multiplier + attention(x) · attention_out_multiplier for n rows of the normed input. */
    float[] forward(Weights w, float[] x, int n) {
        if (n > maxPos) {
            throw new IllegalArgumentException("sequence of " + n + " tokens, RoPE table of " + maxPos);
        }
        float[] out = mamba(w, x, n);
        float[] att = attention(w, x, n);
        for (int i = 0; i < out.length; i++) {
            out[i] += att[i];
        }
        return out;
    }

    /** y = x · Wᵀ · factor for n rows: (n, in) × (out, in)ᵀ. */
    private static float[] linear(float[] x, int n, int in, float[] w, int out, float factor) {
        float[] y = new float[n * out];
        IntStream.range(0, n).parallel().forEach(t -> {
            for (int o = 0; o < out; o++) {
                y[t * out + o] = AwqScaler.dot(w, o * in, x, t * in, in) * factor;
            }
        });
        return y;
    }

    private float[] mamba(Weights w, float[] x, int n) {
        int h = c.hiddenSize();
        int di = c.ssmInnerSize();
        int gs = c.ssmGroups() * c.ssmStateSize();
        int inProj = c.inProjSize();
        int conv = c.convDim();
        int kk = c.convKernel();
        int heads = c.ssmHeads();
        int p = c.ssmHeadDim();
        int st = c.ssmStateSize();
        double[] mup = c.ssmMultipliers();
        float[] zx = linear(x, n, h, w.inProj(), inProj, (float) c.ssmInMultiplier());
        int[] segEnd = {di, 2 * di, 2 * di + gs, 2 * di + 2 * gs, inProj};
        for (int t = 0; t < n; t++) {
            int from = 0;
            for (int sg = 0; sg < 5; sg++) {
                for (int j = from; j < segEnd[sg]; j++) {
                    zx[t * inProj + j] *= (float) mup[sg];
                }
                from = segEnd[sg];
            }
        }
        // xBC = silu(bias + Σ_j w[ch, 0, j] · xBC[t − K + 1 + j]), zeros before t = 0
        float[] xbc = new float[n * conv];
        for (int t = 0; t < n; t++) {
            for (int ch = 0; ch < conv; ch++) {
                float acc = w.convBias() == null ? 0f : w.convBias()[ch];
                for (int j = 0; j < kk; j++) {
                    int src = t - (kk - 1) + j;
                    if (src >= 0) {
                        acc += w.convWeight()[ch * kk + j] * zx[src * inProj + di + ch];
                    }
                }
                xbc[t * conv + ch] = silu(acc);
            }
        }
        float[] y = new float[n * di];
        int headsPerGroup = heads / c.ssmGroups();
        IntStream.range(0, heads).parallel().forEach(hd -> {
            int g = hd / headsPerGroup;
            float a = (float) -Math.exp(w.aLog()[hd]);
            float[] state = new float[p * st];
            for (int t = 0; t < n; t++) {
                float dt = softplus(zx[t * inProj + 2 * di + 2 * gs + hd] + w.dtBias()[hd]);
                float decay = (float) Math.exp(dt * a);
                int xb = t * conv + hd * p;
                int bb = t * conv + di + g * st;
                int cb = t * conv + di + gs + g * st;
                for (int pp = 0; pp < p; pp++) {
                    float xv = xbc[xb + pp];
                    float acc = 0f;
                    for (int s = 0; s < st; s++) {
                        float v = state[pp * st + s] * decay + dt * xv * xbc[bb + s];
                        state[pp * st + s] = v;
                        acc += v * xbc[cb + s];
                    }
                    y[t * di + hd * p + pp] = acc + w.d()[hd] * xv;
                }
            }
        });
        int groupSize = di / c.ssmGroups();
        for (int t = 0; t < n; t++) {
            int yb = t * di;
            int zb = t * inProj;
            if (w.ssmNorm() == null) {
                for (int i = 0; i < di; i++) {
                    y[yb + i] *= silu(zx[zb + i]);
                }
                continue;
            }
            if (!c.ssmNormBeforeGate()) {
                for (int i = 0; i < di; i++) {
                    y[yb + i] *= silu(zx[zb + i]);
                }
            }
            for (int g = 0; g < c.ssmGroups(); g++) {
                double ss = 0;
                for (int i = 0; i < groupSize; i++) {
                    float v = y[yb + g * groupSize + i];
                    ss += v * v;
                }
                float r = (float) (1.0 / Math.sqrt(ss / groupSize + c.rmsNormEps()));
                for (int i = 0; i < groupSize; i++) {
                    int idx = g * groupSize + i;
                    y[yb + idx] = y[yb + idx] * r * w.ssmNorm()[idx];
                }
            }
            if (c.ssmNormBeforeGate()) {
                for (int i = 0; i < di; i++) {
                    y[yb + i] *= silu(zx[zb + i]);
                }
            }
        }
        return linear(y, n, di, w.outProj(), h, (float) c.ssmOutMultiplier());
    }

    private float[] attention(Weights w, float[] x, int n) {
        int h = c.hiddenSize();
        int hd = c.headDim();
        int nh = c.numHeads();
        int nkv = c.numKvHeads();
        int qs = c.qSize();
        int kvs = c.kvSize();
        float in = (float) c.attentionInMultiplier();
        float[] q = linear(x, n, h, w.q(), qs, in);
        float[] k = linear(x, n, h, w.k(), kvs, (float) (c.attentionInMultiplier() * c.keyMultiplier()));
        float[] v = linear(x, n, h, w.v(), kvs, in);
        for (int t = 0; t < n; t++) {
            for (int head = 0; head < nh; head++) {
                rope(q, t * qs + head * hd, t);
            }
            for (int head = 0; head < nkv; head++) {
                rope(k, t * kvs + head * hd, t);
            }
        }
        float[] heads = new float[n * qs];
        int rep = c.gqaGroupSize();
        float scale = (float) (1.0 / Math.sqrt(hd));
        IntStream.range(0, nh * n).parallel().forEach(task -> {
            int head = task / n;
            int t = task % n;
            int g = head / rep;
            float[] sc = new float[t + 1];
            float mx = Float.NEGATIVE_INFINITY;
            for (int u = 0; u <= t; u++) {
                sc[u] = AwqScaler.dot(q, t * qs + head * hd, k, u * kvs + g * hd, hd) * scale;
                mx = Math.max(mx, sc[u]);
            }
            double sum = 0;
            for (int u = 0; u <= t; u++) {
                sc[u] = (float) Math.exp(sc[u] - mx);
                sum += sc[u];
            }
            int ob = t * qs + head * hd;
            for (int u = 0; u <= t; u++) {
                float pr = (float) (sc[u] / sum);
                int vb = u * kvs + g * hd;
                for (int dd = 0; dd < hd; dd++) {
                    heads[ob + dd] += pr * v[vb + dd];
                }
            }
        });
        return linear(heads, n, qs, w.o(), h, (float) c.attentionOutMultiplier());
    }

    /** NEOX rotation: pairs (i, i + hd/2), angle pos · θ^(−2i/hd). */
    private void rope(float[] a, int off, int pos) {
        int half = c.headDim() / 2;
        for (int i = 0; i < half; i++) {
            float cs = ropeCos[pos * half + i];
            float sn = ropeSin[pos * half + i];
            float x0 = a[off + i];
            float x1 = a[off + i + half];
            a[off + i] = x0 * cs - x1 * sn;
            a[off + i + half] = x1 * cs + x0 * sn;
        }
    }

    private static float silu(float v) {
        return v / (1f + (float) Math.exp(-v));
    }

    private static float softplus(float v) {
        return v > 20f ? v : (float) Math.log1p(Math.exp(v));
    }
}
