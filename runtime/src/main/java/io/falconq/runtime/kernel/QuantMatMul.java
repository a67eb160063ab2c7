package io.falconq.runtime.kernel;

import io.falconq.core.parallel.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Linear layers over weights in their stored encoding (ggml blocks, F16/BF16/F32): {@code Y[T×out] = X[T×in]·Wᵀ},
 * with the activations in float32 or rounded as llama.cpp rounds them ({@link ActivationQuantizer}).
 *
 * <p><b>Window mode</b> (T &gt; 1) is a block-tiled matrix–matrix product:
 * <ol>
 *   <li>X is rounded (q8 mode) and packed once per call into tiles of {@value #MR} token rows, k-major
 *       ({@code xp[tile][k][r]}), so the micro-kernel reads the {@value #MR} activations of one k contiguously.</li>
 *   <li>Tasks are panels of {@link #NR} = 4·L output features (L = float lanes). A task decodes its rows once,
 *       {@value #CHUNK} columns at a time, straight from the mapped file (the codec's {@code decodeRow}: one decode
 *       per block per window, never a float32 copy of the layer), and transposes them with gathers into a k-major
 *       panel {@code panel[k][j]}.</li>
 *   <li>For every tile of X the micro-kernel keeps {@value #MR} × 4 accumulator vectors in local variables
 *       (registers: 24 of the 32 AVX-512 registers) and streams k: 4 vector loads of the panel, {@value #MR}
 *       broadcasts, 24 fused multiply-adds. The 4×6 shape measured ~20% faster than 2×6 on AVX-512 (fewer
 *       broadcasts and loop iterations per FMA; see BENCHMARKS.md).</li>
 * </ol>
 * With Q8_1 activations (Q4_1/Q5_1 weights) the block-correction term is appended as {@code in/32} extra k
 * columns: weight side = block minima, activation side = {@link ActivationQuantizer}'s correction, so the same
 * kernel adds {@code Σ_b m_b·c_b}.
 *
 * <p><b>Token mode</b> (T = 1) computes each output with the weight's row dot product ({@link WeightMatrix#dot}).
 *
 * <p><b>Determinism.</b> Every output element is one FMA chain over k = 0, 1, …, K−1, computed by exactly one task;
 * tasks are a fixed function of the shapes. Results are bit-identical for any thread count and do not depend on
 * where a token sits in the window.
 */
public final class QuantMatMul {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();
    /** Output features per panel (4 vectors). */
    public static final int NR = 4 * L;
    /** Token rows per register tile. */
    public static final int MR = 6;
    /** Columns decoded per step when filling a panel (a multiple of every block size). */
    static final int CHUNK = 256;
    private static final int TOKEN_ROWS_PER_TASK = 64;

    private final WorkerPool pool;
    private final ActivationQuantizer.Mode mode;
    // per worker scratch
    private final float[][] decoded;
    private final float[][] panels;
    private final float[][] tileOut;
    private final float[][] rowScratch;
    // shared per call
    private float[] packedX = new float[0];
    private volatile int[][] packIndex;
    private float[] roundedToken = new float[0];
    private float[] tokenCorrection = new float[0];

    public QuantMatMul(WorkerPool pool, ActivationQuantizer.Mode mode) {
        this.pool = pool;
        this.mode = mode;
        int n = pool.threads();
        this.decoded = new float[n][];
        this.panels = new float[n][];
        this.tileOut = new float[n][MR * NR];
        this.rowScratch = new float[n][];
    }

    public ActivationQuantizer.Mode mode() {
        return mode;
    }

    /**
     * The activation format used with weights {@code w} in this mode; weights with no llama.cpp counterpart
     * (GPTQ-layout integers) keep float32 activations.
     */
    public ActivationQuantizer.Format formatFor(WeightMatrix w) {
        if (mode == ActivationQuantizer.Mode.F32 || w.type() == io.falconq.formats.gguf.GgmlType.I32) {
            return ActivationQuantizer.Format.F32;
        }
        return ActivationQuantizer.formatFor(w.type());
    }

    /** {@code y[t·out + o] = Σ_k x[t·in + k]·W[o][k]}, t in [0, tokens), in = w.cols(), out = w.rows(). */
    public void multiply(float[] x, int tokens, WeightMatrix w, float[] y) {
        int in = w.cols();
        int out = w.rows();
        if ((long) tokens * in > x.length || (long) tokens * out > y.length) {
            throw new IllegalArgumentException(w.name() + ": buffers too small for " + tokens + " × " + in + " → " + out);
        }
        ActivationQuantizer.Format format = formatFor(w);
        if (format.hasCorrection() && !(w instanceof QuantizedWeightMatrix)) {
            throw new IllegalArgumentException(w.name() + ": Q8_1 activations need block minima of a quantized weight");
        }
        if (tokens == 1) {
            multiplyToken(x, w, y, format);
        } else {
            multiplyWindow(x, tokens, w, y, format);
        }
    }

    // ---- token mode ------------------------------------------------------------------------------------------

    private void multiplyToken(float[] x, WeightMatrix w, float[] y, ActivationQuantizer.Format format) {
        int in = w.cols();
        int out = w.rows();
        float[] xr = x;
        boolean corrected = format.hasCorrection();
        if (format != ActivationQuantizer.Format.F32) {
            if (roundedToken.length < in) {
                roundedToken = new float[in];
                tokenCorrection = new float[in / 32 + 1];
            }
            ActivationQuantizer.round(format, x, 0, roundedToken, 0, in, tokenCorrection, 0);
            xr = roundedToken;
        }
        float[] xs = xr;
        float[] corr = tokenCorrection;
        int tasks = (out + TOKEN_ROWS_PER_TASK - 1) / TOKEN_ROWS_PER_TASK;
        pool.forEach(tasks, (task, worker) -> {
            float[] mins = corrected ? scratch(rowScratch, worker, in / 32) : null;
            int end = Math.min(out, (task + 1) * TOKEN_ROWS_PER_TASK);
            for (int o = task * TOKEN_ROWS_PER_TASK; o < end; o++) {
                float sum = w.dot(o, xs, 0);
                if (corrected) {
                    ((QuantizedWeightMatrix) w).blockMins(o, mins, 0);
                    for (int b = 0; b < in / 32; b++) {
                        sum += mins[b] * corr[b];
                    }
                }
                y[o] = sum;
            }
        });
    }

    // ---- window mode -----------------------------------------------------------------------------------------

    private void multiplyWindow(float[] x, int tokens, WeightMatrix w, float[] y, ActivationQuantizer.Format format) {
        int in = w.cols();
        int out = w.rows();
        int depth = in + (format.hasCorrection() ? in / 32 : 0);
        int tiles = (tokens + MR - 1) / MR;
        long packedSize = (long) tiles * depth * MR;
        if (packedX.length < packedSize) {
            packedX = new float[Math.toIntExact(packedSize)];
        }
        float[] xp = packedX;
        pool.forEach(tiles, (tile, worker) -> packTile(x, tokens, in, depth, format, tile, xp, worker));

        int chunk = chunkFor(w, in);
        int panelCount = (out + NR - 1) / NR;
        pool.forEach(panelCount, (panel, worker) -> {
            float[] p = scratch(panels, worker, depth * NR);
            fillPanel(w, panel * NR, in, depth, chunk, format, p, worker);
            float[] acc = tileOut[worker];
            int o0 = panel * NR;
            int valid = Math.min(NR, out - o0);
            for (int tile = 0; tile < tiles; tile++) {
                if (KernelMode.VECTOR) {
                    tileVector(xp, tile * depth * MR, depth, p, acc);
                } else {
                    tileScalar(xp, tile * depth * MR, depth, p, acc);
                }
                int rows = Math.min(MR, tokens - tile * MR);
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(acc, r * NR, y, (tile * MR + r) * out + o0, valid);
                }
            }
        });
    }

    /**
     * Rounds (q8 mode) and transposes the token rows of one tile into {@code xp[tile][k][r]}; rows past the window
     * are 0. The transpose gathers: output vector v of each group of L columns holds {@code xp} positions
     * {@code v·L + i}, i.e. row {@code (v·L + i) % MR}, column {@code (v·L + i) / MR} of the group.
     */
    private void packTile(float[] x, int tokens, int in, int depth, ActivationQuantizer.Format format, int tile,
                          float[] xp, int worker) {
        int t0 = tile * MR;
        int base = tile * depth * MR;
        float[] src;
        int srcOff;
        int stride;
        if (format == ActivationQuantizer.Format.F32 && t0 + MR <= tokens) {
            src = x;
            srcOff = t0 * in;
            stride = in;
        } else {
            src = scratch(rowScratch, worker, MR * depth);
            srcOff = 0;
            stride = depth;
            for (int r = 0; r < MR; r++) {
                int t = t0 + r;
                if (t >= tokens) {
                    Arrays.fill(src, r * depth, (r + 1) * depth, 0f);
                } else if (format == ActivationQuantizer.Format.F32) {
                    System.arraycopy(x, t * in, src, r * depth, in);
                } else {
                    ActivationQuantizer.round(format, x, t * in, src, r * depth, in, src, r * depth + in);
                }
            }
        }
        int k = 0;
        if (KernelMode.VECTOR) {
            int[][] index = packIndex(stride);
            for (; k <= depth - L; k += L) {
                for (int v = 0; v < MR; v++) {
                    FloatVector.fromArray(F, src, srcOff + k, index[v], 0).intoArray(xp, base + k * MR + v * L);
                }
            }
        }
        for (; k < depth; k++) {
            for (int r = 0; r < MR; r++) {
                xp[base + k * MR + r] = src[srcOff + r * stride + k];
            }
        }
    }

    /** Gather indices of {@link #packTile} for rows {@code stride} apart (cached for the last stride seen). */
    private int[][] packIndex(int stride) {
        int[][] cached = packIndex;
        if (cached != null && cached[MR][0] == stride) {
            return cached;
        }
        int[][] index = new int[MR + 1][L];
        for (int v = 0; v < MR; v++) {
            for (int i = 0; i < L; i++) {
                int p = v * L + i;
                index[v][i] = (p % MR) * stride + p / MR;
            }
        }
        index[MR][0] = stride;
        packIndex = index;
        return index;
    }

    /** Columns per decode step: {@value #CHUNK} or a smaller power of two that divides {@code in} and whole blocks. */
    private static int chunkFor(WeightMatrix w, int in) {
        int bs = w.type().blockSize();
        if (w instanceof QuantizedWeightMatrix) {
            for (int c = CHUNK; c >= bs && c >= 1; c /= 2) {
                if (in % c == 0 && c % bs == 0) {
                    return c;
                }
            }
        }
        return in;
    }

    /** {@code panel[k·NR + j] = W[o0 + j][k]} (0 beyond the last row), plus the Q8_1 block-minimum rows. */
    private void fillPanel(WeightMatrix w, int o0, int in, int depth, int chunk, ActivationQuantizer.Format format,
                           float[] panel, int worker) {
        int valid = Math.min(NR, w.rows() - o0);
        float[] rows = scratch(decoded, worker, NR * Math.max(chunk, depth - in));
        QuantizedWeightMatrix q = w instanceof QuantizedWeightMatrix qw ? qw : null;
        for (int k0 = 0; k0 < in; k0 += chunk) {
            for (int j = 0; j < NR; j++) {
                if (j >= valid) {
                    Arrays.fill(rows, j * chunk, (j + 1) * chunk, 0f);
                } else if (q != null) {
                    q.decodeRow(o0 + j, k0, k0 + chunk, rows, j * chunk);
                } else {
                    w.decodeRow(o0 + j, rows, j * chunk);
                }
            }
            transpose(rows, chunk, panel, k0);
        }
        if (format.hasCorrection()) {
            int blocks = in / 32;
            for (int j = 0; j < NR; j++) {
                if (j < valid) {
                    q.blockMins(o0 + j, rows, j * blocks);
                } else {
                    Arrays.fill(rows, j * blocks, (j + 1) * blocks, 0f);
                }
            }
            transpose(rows, blocks, panel, in);
        }
    }

    /** {@code panel[(k0 + k)·NR + j] = rows[j·n + k]} for k in [0, n), j in [0, NR). */
    private static void transpose(float[] rows, int n, float[] panel, int k0) {
        if (KernelMode.VECTOR) {
            int[] index = new int[L];
            for (int i = 0; i < L; i++) {
                index[i] = i * n;
            }
            for (int v = 0; v < 4; v++) {
                int base = v * L * n;
                for (int k = 0; k < n; k++) {
                    FloatVector.fromArray(F, rows, base + k, index, 0).intoArray(panel, (k0 + k) * NR + v * L);
                }
            }
        } else {
            for (int j = 0; j < NR; j++) {
                for (int k = 0; k < n; k++) {
                    panel[(k0 + k) * NR + j] = rows[j * n + k];
                }
            }
        }
    }

    private static float[] scratch(float[][] perWorker, int worker, int n) {
        float[] s = perWorker[worker];
        if (s == null || s.length < n) {
            s = new float[n];
            perWorker[worker] = s;
        }
        return s;
    }

    // ---- scalar reference ------------------------------------------------------------------------------------

    /** acc[r·NR + j] = Σ_k xp[x0 + k·MR + r]·panel[k·NR + j], each a float FMA chain in k order. */
    static void tileScalar(float[] xp, int x0, int depth, float[] panel, float[] acc) {
        for (int r = 0; r < MR; r++) {
            for (int j = 0; j < NR; j++) {
                float sum = 0f;
                for (int k = 0; k < depth; k++) {
                    sum = Math.fma(xp[x0 + k * MR + r], panel[k * NR + j], sum);
                }
                acc[r * NR + j] = sum;
            }
        }
    }

    // ---- Vector API ------------------------------------------------------------------------------------------

    /** The 6 × 4-vector register tile: same FMA chains as {@link #tileScalar}, so the same bits. */
    static void tileVector(float[] xp, int x0, int depth, float[] panel, float[] acc) {
        FloatVector c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23;
        FloatVector c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = FloatVector.zero(F);
        c30 = c31 = c32 = c33 = c40 = c41 = c42 = c43 = c50 = c51 = c52 = c53 = FloatVector.zero(F);
        for (int k = 0; k < depth; k++) {
            int p = k * NR;
            FloatVector w0 = FloatVector.fromArray(F, panel, p);
            FloatVector w1 = FloatVector.fromArray(F, panel, p + L);
            FloatVector w2 = FloatVector.fromArray(F, panel, p + 2 * L);
            FloatVector w3 = FloatVector.fromArray(F, panel, p + 3 * L);
            int xk = x0 + k * MR;
            FloatVector a = FloatVector.broadcast(F, xp[xk]);
            c00 = a.fma(w0, c00);
            c01 = a.fma(w1, c01);
            c02 = a.fma(w2, c02);
            c03 = a.fma(w3, c03);
            a = FloatVector.broadcast(F, xp[xk + 1]);
            c10 = a.fma(w0, c10);
            c11 = a.fma(w1, c11);
            c12 = a.fma(w2, c12);
            c13 = a.fma(w3, c13);
            a = FloatVector.broadcast(F, xp[xk + 2]);
            c20 = a.fma(w0, c20);
            c21 = a.fma(w1, c21);
            c22 = a.fma(w2, c22);
            c23 = a.fma(w3, c23);
            a = FloatVector.broadcast(F, xp[xk + 3]);
            c30 = a.fma(w0, c30);
            c31 = a.fma(w1, c31);
            c32 = a.fma(w2, c32);
            c33 = a.fma(w3, c33);
            a = FloatVector.broadcast(F, xp[xk + 4]);
            c40 = a.fma(w0, c40);
            c41 = a.fma(w1, c41);
            c42 = a.fma(w2, c42);
            c43 = a.fma(w3, c43);
            a = FloatVector.broadcast(F, xp[xk + 5]);
            c50 = a.fma(w0, c50);
            c51 = a.fma(w1, c51);
            c52 = a.fma(w2, c52);
            c53 = a.fma(w3, c53);
        }
        c00.intoArray(acc, 0);
        c01.intoArray(acc, L);
        c02.intoArray(acc, 2 * L);
        c03.intoArray(acc, 3 * L);
        c10.intoArray(acc, NR);
        c11.intoArray(acc, NR + L);
        c12.intoArray(acc, NR + 2 * L);
        c13.intoArray(acc, NR + 3 * L);
        c20.intoArray(acc, 2 * NR);
        c21.intoArray(acc, 2 * NR + L);
        c22.intoArray(acc, 2 * NR + 2 * L);
        c23.intoArray(acc, 2 * NR + 3 * L);
        c30.intoArray(acc, 3 * NR);
        c31.intoArray(acc, 3 * NR + L);
        c32.intoArray(acc, 3 * NR + 2 * L);
        c33.intoArray(acc, 3 * NR + 3 * L);
        c40.intoArray(acc, 4 * NR);
        c41.intoArray(acc, 4 * NR + L);
        c42.intoArray(acc, 4 * NR + 2 * L);
        c43.intoArray(acc, 4 * NR + 3 * L);
        c50.intoArray(acc, 5 * NR);
        c51.intoArray(acc, 5 * NR + L);
        c52.intoArray(acc, 5 * NR + 2 * L);
        c53.intoArray(acc, 5 * NR + 3 * L);
    }
}
