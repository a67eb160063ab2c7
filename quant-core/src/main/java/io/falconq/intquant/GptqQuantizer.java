package io.falconq.intquant;

import org.ojalgo.matrix.decomposition.Cholesky;
import org.ojalgo.matrix.store.MatrixStore;
import org.ojalgo.matrix.store.R064Store;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * GPTQ (Frantar et al. 2022), ported from AutoGPTQ's {@code GPTQ.fasterquant} (auto_gptq/quantization/gptq.py):
 * <ol>
 *   <li>dead inputs (H[i,i] = 0) get H[i,i] = 1 and a zero weight column;</li>
 *   <li>act-order ({@code desc_act}): columns sorted by decreasing H[i,i];</li>
 *   <li>damping: H += damp_percent · mean(diag H) · I;</li>
 *   <li>U = upper Cholesky factor of H⁻¹ (Cholesky, inverse, Cholesky again: {@code torch.linalg.cholesky},
 *       {@code cholesky_inverse}, {@code cholesky(upper=True)}; here ojAlgo's {@link Cholesky});</li>
 *   <li>column by column: quantize w_k, error e = (w_k − q_k) / U[k,k], and w_j −= e · U[k,j] for every later
 *       column j; at the first column of each group the group's scale/zero come from the current (already
 *       error-corrected) weights with {@link GroupQuantizer#minMax}.</li>
 * </ol>
 * AutoGPTQ applies the updates lazily in blocks of 128 columns for GPU efficiency; the result is the same sum
 * of the same terms, so we apply them immediately, row by row (every output row evolves independently given U),
 * in row blocks that share each pass over U. With group size ≤ block size AutoGPTQ reads group parameters from
 * the not-yet-updated block copy for groups that start inside a block; we always use the updated values (for the
 * usual group 128 = block 128 both are the same). If H + damp is not positive definite, damping grows by
 * {@value #DAMP_STEP} until it is (GPTQModel's {@code damp_auto_increment}).
 */
public final class GptqQuantizer {
    public static final double DEFAULT_DAMP_PERCENT = 0.01;
    static final double DAMP_STEP = 0.0025;
    private static final int ROW_BLOCK = 16;

    static {
        // ojAlgo's OjAlgoUtils prints a hardware-profile notice to stdout (BasicLogger.debug) when it knows no profile
        // for this machine, unless this property is set before its class initialises; stdout carries command output
        if (System.getProperty("shut.up.ojAlgo") == null) {
            System.setProperty("shut.up.ojAlgo", "true");
        }
    }

    private GptqQuantizer() {
    }

    /**
     * @param loss        GPTQ's proxy loss Σ (w − q)² / U[k,k]² / 2 over all entries
     * @param dampPercent damping actually used
     */
    public record Result(QuantizedLinear weight, double loss, double dampPercent) {
    }

    /**
     * @param w       (out, in) row-major weight
     * @param hessian (in, in) symmetric, {@code 2/n · XᵀX} of the calibration inputs
     */
    public static Result quantize(String name, float[] w, int out, int in, double[][] hessian, IntQuantScheme scheme,
                                  double dampPercent) {
        return quantize(name, w, out, in, prepare(name, hessian, scheme, dampPercent), scheme);
    }

    /**
     * Everything GPTQ derives from the Hessian alone (dead columns, act-order permutation, damped inverse Cholesky
     * factor): computed once per distinct input and shared by the linears that read it (q, k, v and in_proj; gate
     * and up).
     */
    public record Prepared(int in, boolean[] dead, int[] perm, double[] upper, double dampPercent) {
    }

    public static Prepared prepare(String name, double[][] hessian, IntQuantScheme scheme, double dampPercent) {
        int in = hessian.length;
        double[][] h = new double[in][];
        for (int i = 0; i < in; i++) {
            h[i] = hessian[i].clone();
        }
        boolean[] dead = new boolean[in];
        for (int i = 0; i < in; i++) {
            if (h[i][i] == 0) {
                dead[i] = true;
                h[i][i] = 1;
            }
        }
        int[] perm = IntStream.range(0, in).toArray();
        if (scheme.actOrder()) {
            double[] diag = new double[in];
            for (int i = 0; i < in; i++) {
                diag[i] = h[i][i];
            }
            perm = IntStream.range(0, in).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> -diag[i]))
                    .mapToInt(Integer::intValue).toArray();
        }
        double[][] hp = new double[in][in];
        for (int a = 0; a < in; a++) {
            for (int b = 0; b < in; b++) {
                hp[a][b] = h[perm[a]][perm[b]];
            }
        }
        double meanDiag = 0;
        for (int i = 0; i < in; i++) {
            meanDiag += hp[i][i];
        }
        meanDiag /= in;

        double damp = dampPercent;
        double[] u = null;
        while (u == null) {
            u = upperCholeskyOfInverse(hp, damp * meanDiag);
            if (u == null) {
                damp += DAMP_STEP;
                if (damp > 1.0) {
                    throw new IllegalStateException(name + ": Hessian is not positive definite even with damp_percent 1.0"
                            + " (calibration activations NaN or degenerate?)");
                }
            }
        }
        return new Prepared(in, dead, perm, u, damp);
    }

    /** GPTQ of one weight with a prepared Hessian of the matching input ({@link #prepare}). */
    public static Result quantize(String name, float[] w, int out, int in, Prepared prep, IntQuantScheme scheme) {
        if (w.length != (long) out * in || prep.in() != in) {
            throw new IllegalArgumentException(name + ": weight [" + out + ", " + in + "] and Hessian of " + prep.in()
                    + " columns do not match");
        }
        boolean[] dead = prep.dead();
        double[] u = prep.upper();
        double damp = prep.dampPercent();
        int[] perm = prep.perm();
        final double[] upper = u;
        final int[] order = perm;

        int gs = scheme.effectiveGroupSize(in);
        int groups = scheme.groupCount(in);
        int maxq = scheme.maxq();
        int[] q = new int[out * in];
        float[] scales = new float[groups * out];
        int[] zeros = new int[groups * out];
        double[] rowLoss = new double[out];

        int blocks = (out + ROW_BLOCK - 1) / ROW_BLOCK;
        IntStream.range(0, blocks).parallel().forEach(b -> {
            int o0 = b * ROW_BLOCK;
            int n = Math.min(ROW_BLOCK, out - o0);
            double[][] rows = new double[n][in];
            GroupQuantizer.Params[] params = new GroupQuantizer.Params[n];
            float[] groupBuf = new float[gs];
            double[] err = new double[n];
            for (int r = 0; r < n; r++) {
                int base = (o0 + r) * in;
                for (int k = 0; k < in; k++) {
                    int c = order[k];
                    rows[r][k] = dead[c] ? 0 : w[base + c];
                }
                if (scheme.groupSize() < 0) {
                    // per channel: AutoGPTQ finds the parameters once, on the whole (unpermuted) row
                    float[] whole = new float[in];
                    for (int k = 0; k < in; k++) {
                        whole[k] = (float) rows[r][k];
                    }
                    params[r] = GroupQuantizer.minMax(whole, 0, in, scheme);
                    scales[o0 + r] = params[r].scale();
                    zeros[o0 + r] = params[r].zero();
                }
            }
            for (int k = 0; k < in; k++) {
                if (scheme.groupSize() > 0 && k % gs == 0) {
                    int g = k / gs;
                    int len = Math.min(gs, in - k);
                    for (int r = 0; r < n; r++) {
                        for (int j = 0; j < len; j++) {
                            groupBuf[j] = (float) rows[r][k + j];
                        }
                        params[r] = GroupQuantizer.minMax(groupBuf, 0, len, scheme);
                        scales[g * out + o0 + r] = params[r].scale();
                        zeros[g * out + o0 + r] = params[r].zero();
                    }
                }
                double d = upper[k * in + k];
                for (int r = 0; r < n; r++) {
                    double wk = rows[r][k];
                    int qi = GroupQuantizer.quantize((float) wk, params[r], maxq);
                    q[(o0 + r) * in + order[k]] = qi;
                    double e = (wk - GroupQuantizer.dequantize(qi, params[r])) / d;
                    err[r] = e;
                    rowLoss[o0 + r] += e * e / 2;
                }
                int uk = k * in;
                for (int r = 0; r < n; r++) {
                    double e = err[r];
                    if (e == 0) {
                        continue;
                    }
                    double[] row = rows[r];
                    for (int j = k + 1; j < in; j++) {
                        row[j] -= e * upper[uk + j];
                    }
                }
            }
        });

        int[] gIdx = new int[in];
        for (int k = 0; k < in; k++) {
            gIdx[order[k]] = k / gs;
        }
        double loss = 0;
        for (double l : rowLoss) {
            loss += l;
        }
        return new Result(new QuantizedLinear(name, out, in, scheme, q, scales, zeros, gIdx), loss, damp);
    }

    /** Upper Cholesky factor of (h + damp·I)⁻¹, row-major, or null if h + damp·I is not positive definite. */
    static double[] upperCholeskyOfInverse(double[][] h, double damp) {
        int n = h.length;
        R064Store m = R064Store.FACTORY.make(n, n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                m.set(i, j, h[i][j] + (i == j ? damp : 0));
            }
        }
        Cholesky<Double> chol = Cholesky.R064.make(m);
        if (!chol.decompose(m) || !chol.isSPD()) {
            return null;
        }
        MatrixStore<Double> inv = chol.getInverse();
        Cholesky<Double> chol2 = Cholesky.R064.make(inv);
        if (!chol2.decompose(inv) || !chol2.isSPD()) {
            return null;
        }
        MatrixStore<Double> r = chol2.getR();
        double[] u = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                u[i * n + j] = r.doubleValue(i, j);
            }
        }
        for (double v : u) {
            if (!Double.isFinite(v)) {
                return null;
            }
        }
        return u;
    }

}
