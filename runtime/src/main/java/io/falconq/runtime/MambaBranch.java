package io.falconq.runtime;

import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.InProjSegment;
import io.falconq.core.parallel.WorkerPool;
import io.falconq.runtime.kernel.Exp;
import io.falconq.runtime.kernel.KernelMode;
import io.falconq.runtime.kernel.MatMul;
import io.falconq.runtime.kernel.ScanKernel;
import io.falconq.runtime.kernel.VectorOps;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import static io.falconq.runtime.TapListener.emit;

/**
 * The Mamba-2 branch of a decoder layer ({@code FalconH1Mixer.forward} of the reference): in_proj and its segment
 * multipliers, the causal depthwise conv + SiLU, softplus(dt), the selective scan plus D·x, the gated RMSNorm, and
 * out_proj. Owns its work buffers ((rows, width) row-major, grown on demand); the conv inputs and SSM state between
 * calls live in the {@link LayerState}. Not thread-safe, like the {@link FalconH1Forward} that owns it.
 */
final class MambaBranch {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();

    private final FalconH1Config c;
    private final Multipliers m;
    private final WorkerPool pool;
    private final MatMul mm;
    private final float eps;
    private final int hidden;
    private final int di;
    private final int convDim;
    private final int inProj;
    private final int ssmHeads;
    private final int ssmHeadDim;
    private final int groups;
    private final int stateSize;
    private final int convKernel;
    /** in_proj's row segments z, x, B, C, dt ({@link InProjSegment}): first rows and lengths. */
    private final int[] segmentFrom = new int[InProjSegment.values().length];
    private final int[] segmentLength = new int[InProjSegment.values().length];

    private int rowCapacity;
    private float[] zxbcdt;     // (T, d_in_proj)
    private float[] xbc;        // (T, conv_dim)
    private float[] dt;         // (T, Hs)
    private float[] y;          // (T, Di)
    private float[] out;        // (T, H)

    MambaBranch(FalconH1Config c, Multipliers m, WorkerPool pool, MatMul mm) {
        this.c = c;
        this.m = m;
        this.pool = pool;
        this.mm = mm;
        this.eps = (float) c.rmsNormEps();
        this.hidden = c.hiddenSize();
        this.di = c.ssmInnerSize();
        this.convDim = c.convDim();
        this.inProj = c.inProjSize();
        this.ssmHeads = c.ssmHeads();
        this.ssmHeadDim = c.ssmHeadDim();
        this.groups = c.ssmGroups();
        this.stateSize = c.ssmStateSize();
        this.convKernel = c.convKernel();
        for (InProjSegment s : InProjSegment.values()) {
            segmentFrom[s.ordinal()] = s.from(c);
            segmentLength[s.ordinal()] = s.to(c) - s.from(c);
        }
    }

    void ensureRows(int cap) {
        if (cap > rowCapacity) {
            zxbcdt = new float[cap * inProj];
            xbc = new float[cap * convDim];
            dt = new float[cap * ssmHeads];
            y = new float[cap * di];
            out = new float[cap * hidden];
            rowCapacity = cap;
        }
    }

    /** The gated scan output (T, Di): out_proj's input, {@link Tap#MAMBA_Y_GATED}. */
    float[] gated() {
        return y;
    }

    /** in → y for n tokens, {@code in} being the layer's input norm times ssm_in_multiplier (T, H). */
    void mix(int layer, LayerWeights lw, LayerState st, float[] in, int n, TapListener taps) {
        // zxbcdt = in_proj(u * ssm_in_multiplier) * mup_vector
        mm.multiply(in, n, lw.ssmIn(), zxbcdt);
        int gs = groups * stateSize;
        // in_proj output segments z | x | B | C | dt and their ssm_multipliers (compute_mup_vector)
        float[] mup = m.ssm();
        TokenRows.forEach(pool, n, (t0, t1, worker) -> {
            for (int t = t0; t < t1; t++) {
                for (int s = 0; s < mup.length; s++) {
                    if (mup[s] != 1f) {
                        VectorOps.scale(zxbcdt, t * inProj + segmentFrom[s], segmentLength[s], mup[s]);
                    }
                }
            }
        });
        emit(taps, Tap.MAMBA_ZXBCDT, layer, zxbcdt, n, inProj);

        // xBC = silu(conv1d(xBC) + bias), causal, with the previous K−1 inputs from the state
        float[] convState = st.convState;
        TokenRows.forEach(pool, n, (t0, t1, worker) -> causalConv(lw, convState, t0, t1));
        updateConvState(convState, n);
        emit(taps, Tap.MAMBA_XBC_CONV_SILU, layer, xbc, n, convDim);

        // dt = softplus(dt + dt_bias)
        float[] dtBias = lw.dtBias();
        for (int t = 0; t < n; t++) {
            int base = t * inProj + segmentFrom[InProjSegment.DT.ordinal()];
            for (int hh = 0; hh < ssmHeads; hh++) {
                dt[t * ssmHeads + hh] = VectorOps.softplus(zxbcdt[base + hh] + dtBias[hh]);
            }
        }
        emit(taps, Tap.MAMBA_DT_SOFTPLUS, layer, dt, n, ssmHeads);

        // y = ssd_sequential(x, dt, A, B, C) + D * x, one task per head (head h uses group h / (Hs/G))
        float[] ssm = st.ssmState;
        int headsPerGroup = c.ssmHeadsPerGroup();
        float[] a = lw.a();
        float[] d = lw.d();
        pool.forEach(ssmHeads, (head, worker) -> {
            int g = head / headsPerGroup;
            ScanKernel.scanHead(n, xbc, convDim, head * ssmHeadDim, di + g * stateSize, di + gs + g * stateSize,
                    dt, ssmHeads, head, a[head], d[head], ssm, head * stateSize * ssmHeadDim, ssmHeadDim, stateSize,
                    y, di, head * ssmHeadDim);
        });
        emit(taps, Tap.MAMBA_Y_SSM_PLUS_D, layer, y, n, di);

        // y = norm(y, gate) (FalconH1RMSNormGated) or y * silu(gate)
        TokenRows.forEach(pool, n, (t0, t1, worker) -> gatedNorm(lw, t0, t1));
        emit(taps, Tap.MAMBA_Y_GATED, layer, y, n, di);
    }

    /** m = out_proj(y) * ssm_out_multiplier: the branch output (T, H), {@link Tap#MAMBA_BRANCH}. */
    float[] outProj(int layer, LayerWeights lw, int n, TapListener taps) {
        mm.multiply(y, n, lw.ssmOut(), out);
        VectorOps.scaleUnlessOne(out, n * hidden, m.ssmOut());
        emit(taps, Tap.MAMBA_BRANCH, layer, out, n, hidden);
        return out;
    }

    /** out[t, c] = silu(bias[c] + Σ_k w[k, c] · in[t − K + 1 + k, c]), inputs before the window from the state. */
    private void causalConv(LayerWeights lw, float[] convState, int t0, int t1) {
        float[] wt = lw.convWeight();
        float[] bias = lw.convBias();
        int kk = convKernel;
        for (int t = t0; t < t1; t++) {
            int outBase = t * convDim;
            int cv = KernelMode.VECTOR ? convDim - convDim % L : 0;
            for (int ch = 0; ch < cv; ch += L) {
                FloatVector acc = FloatVector.zero(F);
                for (int j = 0; j < kk; j++) {
                    int src = t - (kk - 1) + j;
                    FloatVector x = src >= 0
                            ? FloatVector.fromArray(F, zxbcdt, src * inProj + di + ch)
                            : FloatVector.fromArray(F, convState, (kk - 1 + src) * convDim + ch);
                    acc = FloatVector.fromArray(F, wt, j * convDim + ch).fma(x, acc);
                }
                acc.add(FloatVector.fromArray(F, bias, ch)).intoArray(xbc, outBase + ch);
            }
            for (int ch = cv; ch < convDim; ch++) {
                float acc = 0f;
                for (int j = 0; j < kk; j++) {
                    int src = t - (kk - 1) + j;
                    float x = src >= 0 ? zxbcdt[src * inProj + di + ch] : convState[(kk - 1 + src) * convDim + ch];
                    acc += wt[j * convDim + ch] * x;
                }
                xbc[outBase + ch] = acc + bias[ch];
            }
            Exp.siluInPlace(xbc, outBase, convDim);
        }
    }

    /** Keeps the last K−1 pre-convolution inputs of (state ‖ this call's tokens). */
    private void updateConvState(float[] convState, int n) {
        int keep = convKernel - 1;
        if (keep == 0) {
            return;
        }
        float[] next = new float[keep * convDim];
        for (int r = 0; r < keep; r++) {
            int idx = n + r; // index in the concatenation of keep state rows and n new rows
            if (idx < keep) {
                System.arraycopy(convState, idx * convDim, next, r * convDim, convDim);
            } else {
                System.arraycopy(zxbcdt, (idx - keep) * inProj + di, next, r * convDim, convDim);
            }
        }
        System.arraycopy(next, 0, convState, 0, next.length);
    }

    private void gatedNorm(LayerWeights lw, int t0, int t1) {
        float[] norm = lw.ssmNorm();
        int groupSize = di / groups;
        for (int t = t0; t < t1; t++) {
            int yb = t * di;
            int zb = t * inProj;
            if (norm == null) {
                Exp.mulSilu(y, yb, zxbcdt, zb, di);
            } else if (!c.ssmNormBeforeGate()) {
                // h = h * silu(gate); h = h * rsqrt(mean(h²) + eps) per group; weight * h
                Exp.mulSilu(y, yb, zxbcdt, zb, di);
                for (int g = 0; g < groups; g++) {
                    VectorOps.rmsNorm(y, yb + g * groupSize, groupSize, norm, g * groupSize, eps, y, yb + g * groupSize);
                }
            } else {
                for (int g = 0; g < groups; g++) {
                    VectorOps.rmsNorm(y, yb + g * groupSize, groupSize, norm, g * groupSize, eps, y, yb + g * groupSize);
                }
                Exp.mulSilu(y, yb, zxbcdt, zb, di);
            }
        }
    }
}
