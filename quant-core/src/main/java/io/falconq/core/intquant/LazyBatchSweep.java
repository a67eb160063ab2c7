package io.falconq.core.intquant;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GPTQ's column sweep over a block of output rows with the paper's lazy batch updates (Frantar et al. 2022, §3
 * step 2): columns go in blocks of {@value #COLUMN_BLOCK}; inside a block each column is quantized and its error
 * fed forward to the block's remaining columns only; then the whole block's errors update every later column at
 * once, {@code W[:, k1:] −= E[:, k0:k1] · U[k0:k1, k1:]}, as a register-tiled product over one slab of U.
 *
 * <p>Every weight still receives the terms e_k · U[k, j] one by one in increasing k, each as one fused
 * multiply-add, so the result is bit-identical to applying them immediately with {@code Math.fma}; the batching
 * only changes when they are applied, which is what lets one slab of U stay in cache for many rows
 * ({@link PanelProduct}).
 *
 * <p>Doubles, not floats: U is the double factor {@link GptqQuantizer#prepare} makes in place (a float copy would
 * cost n²/2 more floats), and the errors fed through thousands of columns stay those of the double reference.
 */
final class LazyBatchSweep {
    static final int COLUMN_BLOCK = 128;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int V = D.length();

    private final int in;
    private final int out;
    private final double[] upper;     // (in, in) row-major, upper triangle
    private final IntQuantScheme scheme;
    private final int gs;
    private final int maxq;
    private final int[] q;            // (out, in), original column order
    private final float[] scales;     // (groups, out)
    private final int[] zeros;        // (groups, out)

    LazyBatchSweep(int in, int out, double[] upper, IntQuantScheme scheme, int[] q, float[] scales, int[] zeros) {
        this.in = in;
        this.out = out;
        this.upper = upper;
        this.scheme = scheme;
        this.gs = scheme.effectiveGroupSize(in);
        this.maxq = scheme.maxq();
        this.q = q;
        this.scales = scales;
        this.zeros = zeros;
    }

    /**
     * Quantizes output rows [o0, o0 + n) whose permuted weights are in {@code rows} (n, in), which it overwrites.
     *
     * @param negErr   scratch of n · {@value #COLUMN_BLOCK} doubles
     * @param rowLoss  (out) receives each row's Σ e² / 2
     */
    void run(double[] rows, int o0, int n, int[] order, double[] negErr, double[] rowLoss) {
        GroupQuantizer.Params[] params = new GroupQuantizer.Params[n];
        if (scheme.groupSize() < 0) {
            float[] whole = new float[in];
            for (int r = 0; r < n; r++) {
                for (int k = 0; k < in; k++) {
                    whole[k] = (float) rows[r * in + k];
                }
                params[r] = GroupQuantizer.minMax(whole, 0, in, scheme);
                scales[o0 + r] = params[r].scale();
                zeros[o0 + r] = params[r].zero();
            }
        }
        float[] groupBuf = new float[gs];
        double[] panel = new double[COLUMN_BLOCK * PanelProduct.WIDTH];
        for (int k0 = 0; k0 < in; k0 += COLUMN_BLOCK) {
            int k1 = Math.min(in, k0 + COLUMN_BLOCK);
            if (scheme.groupSize() > 0) {
                groupParameters(rows, o0, n, k0, k1, groupBuf);
            }
            for (int k = k0; k < k1; k++) {
                if (scheme.groupSize() > 0 && k % gs == 0) {
                    int g = k / gs;
                    for (int r = 0; r < n; r++) {
                        params[r] = new GroupQuantizer.Params(scales[g * out + o0 + r], zeros[g * out + o0 + r]);
                    }
                }
                quantizeColumn(rows, o0, n, k, k1, order[k], params, negErr, k - k0, rowLoss);
            }
            if (k1 < in) {
                trailingUpdate(rows, n, k0, k1, negErr, panel);
            }
        }
    }

    /**
     * Parameters of every group that starts in [k0, k1), from the weights as they are at the block's start:
     * GPTQModel's {@code find_params(W[:, (i1 + i):(i1 + i + groupsize)])} reads W, which receives a block's
     * updates only after the block, not the in-block copy W1.
     */
    private void groupParameters(double[] rows, int o0, int n, int k0, int k1, float[] groupBuf) {
        for (int g0 = (k0 + gs - 1) / gs * gs; g0 < k1; g0 += gs) {
            int g = g0 / gs;
            int len = Math.min(gs, in - g0);
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < len; j++) {
                    groupBuf[j] = (float) rows[r * in + g0 + j];
                }
                GroupQuantizer.Params p = GroupQuantizer.minMax(groupBuf, 0, len, scheme);
                scales[g * out + o0 + r] = p.scale();
                zeros[g * out + o0 + r] = p.zero();
            }
        }
    }

    /** Quantizes column k of every row and feeds its error to columns (k, k1) of the same rows. */
    private void quantizeColumn(double[] rows, int o0, int n, int k, int k1, int column, GroupQuantizer.Params[] params,
                                double[] negErr, int kInBlock, double[] rowLoss) {
        double d = upper[k * in + k];
        int uk = k * in;
        int jVec = k + 1 + (k1 - k - 1) / V * V;
        for (int r = 0; r < n; r++) {
            int base = r * in;
            double wk = rows[base + k];
            int qi = GroupQuantizer.quantize((float) wk, params[r], maxq);
            q[(o0 + r) * in + column] = qi;
            double e = (wk - GroupQuantizer.dequantize(qi, params[r])) / d;
            negErr[r * COLUMN_BLOCK + kInBlock] = -e;
            rowLoss[o0 + r] += e * e / 2;
            DoubleVector ne = DoubleVector.broadcast(D, -e);
            for (int j = k + 1; j < jVec; j += V) {
                ne.fma(DoubleVector.fromArray(D, upper, uk + j), DoubleVector.fromArray(D, rows, base + j))
                        .intoArray(rows, base + j);
            }
            for (int j = jVec; j < k1; j++) {
                rows[base + j] = Math.fma(-e, upper[uk + j], rows[base + j]);
            }
        }
    }

    /**
     * rows[:, k1:] += negErr[:, 0:k1−k0] · U[k0:k1, k1:], each weight's terms in increasing k, one packed
     * {@link PanelProduct#WIDTH}-column slab of U at a time, shared by all the block's rows.
     */
    private void trailingUpdate(double[] rows, int n, int k0, int k1, double[] negErr, double[] panel) {
        int count = k1 - k0;
        int quads = n / PanelProduct.ROWS * PanelProduct.ROWS;
        for (int j = k1; j < in; j += PanelProduct.WIDTH) {
            int width = Math.min(PanelProduct.WIDTH, in - j);
            PanelProduct.pack(upper, k0 * in + j, in, count, width, panel);
            int r = 0;
            if (width == PanelProduct.WIDTH) {
                for (; r < quads; r += PanelProduct.ROWS) {
                    PanelProduct.addTile(rows, r * in + j, in, negErr, r * COLUMN_BLOCK, COLUMN_BLOCK, panel, count);
                }
            }
            for (; r < n; r++) {
                PanelProduct.addRow(rows, r * in + j, negErr, r * COLUMN_BLOCK, panel, 0, count, width);
            }
        }
    }
}
