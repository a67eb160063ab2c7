package io.falconq.runtime.kernel;

import io.falconq.core.parallel.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Linear layers: {@code Y[T×out] = X[T×in] · Wᵀ} for a window of T tokens, and {@code y = W·x} for one token.
 *
 * <p><b>Window mode</b> is a register-tiled outer-product kernel (the BLIS micro-kernel shape). For each panel of
 * {@value #PANEL_VECTORS}·L consecutive output features, the worker decodes those weight rows to float32 and
 * packs them transposed, {@code panel[k·NR + j] = W[o0+j][k]}, into its own scratch (so BF16/F16/quantized weights
 * cost one decode per panel, never a float32 copy of the layer). Then for every tile of {@value #MR} token rows it
 * keeps MR × {@value #PANEL_VECTORS} accumulator vectors in local variables (in registers: accumulators in an array
 * run ~20× slower, ANCHORS.md) and streams k: two vector loads of the panel, MR scalar broadcasts of X, 2·MR FMAs.
 * k is blocked by {@value #KC} so the panel block stays in L1 while the tiles of X stream through.
 *
 * <p><b>Determinism.</b> Each Y element is one FMA chain over k = 0, 1, …, in−1 (the k-blocks store the running
 * sum to Y and reload it, which is exact), whatever tile or panel computes it; tasks are whole panels, a fixed
 * function of {@code out}. So results do not depend on the thread count, nor on which remainder kernel handles a
 * row. Token mode sums each row with {@link WeightMatrix#dot}, in an order that differs from window mode: the two
 * modes agree to float rounding, not bit for bit.
 */
public final class MatMul {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();
    /** Vectors of output features per panel. */
    public static final int PANEL_VECTORS = 2;
    /** Output features per panel. */
    public static final int NR = PANEL_VECTORS * L;
    /** Token rows per register tile. */
    public static final int MR = 6;
    /** Depth of a k-block. */
    public static final int KC = 256;
    /** Output rows per task in token mode. */
    private static final int MATVEC_ROWS_PER_TASK = 64;

    private final WorkerPool pool;
    private final float[][] panels;
    private final float[][] rowBuffers;
    private volatile int[] gatherIndex;
    private final QuantMatMul quant;

    public MatMul(WorkerPool pool) {
        this(pool, ActivationQuantizer.Mode.F32);
    }

    /**
     * With {@code activations} = q8, every product rounds its activations as llama.cpp does for the weight type;
     * quantized (block) weights always go through {@link QuantMatMul}.
     */
    public MatMul(WorkerPool pool, ActivationQuantizer.Mode activations) {
        this.quant = new QuantMatMul(pool, activations);
        this.pool = pool;
        this.panels = new float[pool.threads()][];
        this.rowBuffers = new float[pool.threads()][];
    }

    public WorkerPool pool() {
        return pool;
    }

    /**
     * {@code y[t·out + o] = Σ_k x[t·in + k] · W[o][k]} for t in [0, T), with {@code in = w.cols()}, {@code out =
     * w.rows()}. T = 1 uses the row-dot (token) path.
     */
    public void multiply(float[] x, int tokens, WeightMatrix w, float[] y) {
        int in = w.cols();
        int out = w.rows();
        if ((long) tokens * in > x.length || (long) tokens * out > y.length) {
            throw new IllegalArgumentException(w.name() + ": buffers too small for " + tokens + " × " + in + " → " + out);
        }
        if (w instanceof QuantizedWeightMatrix || quant.mode() == ActivationQuantizer.Mode.Q8) {
            quant.multiply(x, tokens, w, y);
            return;
        }
        if (tokens == 1) {
            int tasks = (out + MATVEC_ROWS_PER_TASK - 1) / MATVEC_ROWS_PER_TASK;
            pool.forEach(tasks, (task, worker) -> {
                int end = Math.min(out, (task + 1) * MATVEC_ROWS_PER_TASK);
                for (int o = task * MATVEC_ROWS_PER_TASK; o < end; o++) {
                    y[o] = w.dot(o, x, 0);
                }
            });
            return;
        }
        int panelCount = (out + NR - 1) / NR;
        if (KernelMode.VECTOR) {
            pool.forEach(panelCount, (panel, worker) -> panelVector(x, tokens, w, y, panel * NR, worker));
        } else {
            pool.forEach(panelCount, (panel, worker) -> panelScalar(x, tokens, w, y, panel * NR, worker));
        }
    }

    private float[] rowBuffer(int worker, int n) {
        float[] b = rowBuffers[worker];
        if (b == null || b.length < n) {
            b = new float[n];
            rowBuffers[worker] = b;
        }
        return b;
    }

    /** {0, in, 2·in, …}: lane j of a gather reads row j of a decoded block. */
    private int[] gatherIndex(int in) {
        int[] g = gatherIndex;
        if (g == null || g[1] != in) {
            g = new int[L];
            for (int j = 0; j < L; j++) {
                g[j] = j * in;
            }
            gatherIndex = g;
        }
        return g;
    }

    private float[] panel(int worker, int n) {
        float[] p = panels[worker];
        if (p == null || p.length < n) {
            p = new float[n];
            panels[worker] = p;
        }
        return p;
    }

    // ---- scalar reference ------------------------------------------------------------------------------------

    private void panelScalar(float[] x, int tokens, WeightMatrix w, float[] y, int o0, int worker) {
        int in = w.cols();
        int out = w.rows();
        float[] row = rowBuffer(worker, in);
        for (int o = o0; o < Math.min(out, o0 + NR); o++) {
            w.decodeRow(o, row, 0);
            for (int t = 0; t < tokens; t++) {
                float sum = 0f;
                int xt = t * in;
                for (int k = 0; k < in; k++) {
                    sum += x[xt + k] * row[k];
                }
                y[t * out + o] = sum;
            }
        }
    }

    // ---- Vector API ------------------------------------------------------------------------------------------

    private void panelVector(float[] x, int tokens, WeightMatrix w, float[] y, int o0, int worker) {
        int in = w.cols();
        int out = w.rows();
        // decode the panel's rows, then transpose them 16 rows at a time with gathers (contiguous panel writes;
        // a scalar scatter into the k-major panel costs as much as a sixth of the product itself)
        float[] rows = rowBuffer(worker, NR * in);
        float[] panel = panel(worker, in * NR);
        int valid = Math.min(NR, out - o0);
        for (int j = 0; j < NR; j++) {
            if (j < valid) {
                w.decodeRow(o0 + j, rows, j * in);
            } else {
                java.util.Arrays.fill(rows, j * in, (j + 1) * in, 0f);
            }
        }
        int[] gather = gatherIndex(in);
        for (int v = 0; v < PANEL_VECTORS; v++) {
            int rowBase = v * L * in;
            for (int k = 0; k < in; k++) {
                FloatVector.fromArray(F, rows, rowBase + k, gather, 0).intoArray(panel, k * NR + v * L);
            }
        }
        VectorMask<Float> m0 = F.indexInRange(o0, out);
        VectorMask<Float> m1 = F.indexInRange(o0 + L, out);
        boolean full = valid == NR;
        for (int k0 = 0; k0 < in; k0 += KC) {
            int k1 = Math.min(in, k0 + KC);
            boolean accumulate = k0 > 0;
            int t = 0;
            if (full) {
                for (; t <= tokens - MR; t += MR) {
                    tile6(x, in, t, panel, k0, k1, y, out, o0, accumulate);
                }
                for (; t < tokens; t++) {
                    tile1(x, in, t, panel, k0, k1, y, out, o0, accumulate);
                }
            } else {
                for (; t < tokens; t++) {
                    tile1Masked(x, in, t, panel, k0, k1, y, out, o0, accumulate, m0, m1);
                }
            }
        }
    }

    private static void tile6(float[] x, int in, int t, float[] panel, int k0, int k1, float[] y, int out, int o0,
                              boolean accumulate) {
        int y0 = t * out + o0;
        int y1 = y0 + out;
        int y2 = y1 + out;
        int y3 = y2 + out;
        int y4 = y3 + out;
        int y5 = y4 + out;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate) {
            c00 = FloatVector.fromArray(F, y, y0);
            c01 = FloatVector.fromArray(F, y, y0 + L);
            c10 = FloatVector.fromArray(F, y, y1);
            c11 = FloatVector.fromArray(F, y, y1 + L);
            c20 = FloatVector.fromArray(F, y, y2);
            c21 = FloatVector.fromArray(F, y, y2 + L);
            c30 = FloatVector.fromArray(F, y, y3);
            c31 = FloatVector.fromArray(F, y, y3 + L);
            c40 = FloatVector.fromArray(F, y, y4);
            c41 = FloatVector.fromArray(F, y, y4 + L);
            c50 = FloatVector.fromArray(F, y, y5);
            c51 = FloatVector.fromArray(F, y, y5 + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(F);
        }
        int x0 = t * in;
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        int x4 = x3 + in;
        int x5 = x4 + in;
        for (int k = k0; k < k1; k++) {
            FloatVector w0 = FloatVector.fromArray(F, panel, k * NR);
            FloatVector w1 = FloatVector.fromArray(F, panel, k * NR + L);
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c00 = a.fma(w0, c00);
            c01 = a.fma(w1, c01);
            a = FloatVector.broadcast(F, x[x1 + k]);
            c10 = a.fma(w0, c10);
            c11 = a.fma(w1, c11);
            a = FloatVector.broadcast(F, x[x2 + k]);
            c20 = a.fma(w0, c20);
            c21 = a.fma(w1, c21);
            a = FloatVector.broadcast(F, x[x3 + k]);
            c30 = a.fma(w0, c30);
            c31 = a.fma(w1, c31);
            a = FloatVector.broadcast(F, x[x4 + k]);
            c40 = a.fma(w0, c40);
            c41 = a.fma(w1, c41);
            a = FloatVector.broadcast(F, x[x5 + k]);
            c50 = a.fma(w0, c50);
            c51 = a.fma(w1, c51);
        }
        c00.intoArray(y, y0);
        c01.intoArray(y, y0 + L);
        c10.intoArray(y, y1);
        c11.intoArray(y, y1 + L);
        c20.intoArray(y, y2);
        c21.intoArray(y, y2 + L);
        c30.intoArray(y, y3);
        c31.intoArray(y, y3 + L);
        c40.intoArray(y, y4);
        c41.intoArray(y, y4 + L);
        c50.intoArray(y, y5);
        c51.intoArray(y, y5 + L);
    }

    private static void tile1(float[] x, int in, int t, float[] panel, int k0, int k1, float[] y, int out, int o0,
                              boolean accumulate) {
        int y0 = t * out + o0;
        FloatVector c0, c1;
        if (accumulate) {
            c0 = FloatVector.fromArray(F, y, y0);
            c1 = FloatVector.fromArray(F, y, y0 + L);
        } else {
            c0 = c1 = FloatVector.zero(F);
        }
        int x0 = t * in;
        for (int k = k0; k < k1; k++) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c0 = a.fma(FloatVector.fromArray(F, panel, k * NR), c0);
            c1 = a.fma(FloatVector.fromArray(F, panel, k * NR + L), c1);
        }
        c0.intoArray(y, y0);
        c1.intoArray(y, y0 + L);
    }

    private static void tile1Masked(float[] x, int in, int t, float[] panel, int k0, int k1, float[] y, int out,
                                    int o0, boolean accumulate, VectorMask<Float> m0, VectorMask<Float> m1) {
        int y0 = t * out + o0;
        FloatVector c0, c1;
        if (accumulate) {
            c0 = FloatVector.fromArray(F, y, y0, m0);
            c1 = FloatVector.fromArray(F, y, y0 + L, m1);
        } else {
            c0 = c1 = FloatVector.zero(F);
        }
        int x0 = t * in;
        for (int k = k0; k < k1; k++) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + k]);
            c0 = a.fma(FloatVector.fromArray(F, panel, k * NR), c0);
            c1 = a.fma(FloatVector.fromArray(F, panel, k * NR + L), c1);
        }
        c0.intoArray(y, y0, m0);
        c1.intoArray(y, y0 + L, m1);
    }
}
