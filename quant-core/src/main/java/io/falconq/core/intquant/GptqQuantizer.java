package io.falconq.core.intquant;

import io.falconq.core.parallel.WorkerPool;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * GPTQ (Frantar et al. 2022), ported from AutoGPTQ's {@code GPTQ.fasterquant} (auto_gptq/quantization/gptq.py),
 * as GPTQModel keeps it:
 * <ol>
 *   <li>dead inputs (H[i,i] = 0) get H[i,i] = 1 and a zero weight column;</li>
 *   <li>act-order ({@code desc_act}): columns sorted by decreasing H[i,i];</li>
 *   <li>damping: H += damp_percent · mean(diag H) · I;</li>
 *   <li>U = upper Cholesky factor of H⁻¹ (torch: {@code cholesky}, {@code cholesky_inverse},
 *       {@code cholesky(upper=True)}; here the same factor as J · chol_lower(J H J)⁻¹ · J, in place,
 *       {@link InPlaceCholesky});</li>
 *   <li>column by column: quantize w_k, error e = (w_k − q_k) / U[k,k], and w_j −= e · U[k,j] for every later
 *       column j, in GPTQ's lazy batches of 128 columns ({@link LazyBatchSweep}); the parameters of a group that
 *       starts in a batch come from the weights as they are at the batch's start ({@link GroupQuantizer#minMax}),
 *       as GPTQModel's {@code find_params(W[...])} reads W rather than the batch copy W1 (with group 128 that is
 *       the group's first column, fully error-corrected).</li>
 * </ol>
 * Every output row evolves independently given U, so rows are cut into fixed blocks that run in parallel. If
 * H + damp is not positive definite, damping grows by {@value #DAMP_STEP} until it is (GPTQModel's
 * {@code damp_auto_increment}).
 */
public final class GptqQuantizer {
    public static final double DEFAULT_DAMP_PERCENT = 0.01;
    static final double DAMP_STEP = 0.0025;
    private static final int ROW_BLOCK = 32;
    private static final WorkerPool CALLER_ONLY = new WorkerPool(1);

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
     * and up). {@code upper} is U, (in, in) row-major in act-order column order, zeros below the diagonal; read-only
     * once prepared, so several {@link #quantize} calls may share it concurrently.
     */
    public record Prepared(int in, boolean[] dead, int[] perm, double[] upper, double dampPercent) {
    }

    /**
     * {@link #prepare(String, double[], int, IntQuantScheme, double, WorkerPool)} on the calling thread, from a copy
     * of {@code hessian} (which is left unchanged).
     */
    public static Prepared prepare(String name, double[][] hessian, IntQuantScheme scheme, double dampPercent) {
        int in = hessian.length;
        double[] flat = new double[Math.multiplyExact(in, in)];
        for (int i = 0; i < in; i++) {
            System.arraycopy(hessian[i], 0, flat, i * in, in);
        }
        return prepare(name, flat, in, scheme, dampPercent, CALLER_ONLY);
    }

    /**
     * Prepares GPTQ from a Hessian that it consumes: {@code hessian} is row-major (in, in), only its upper triangle
     * (diagonal included) is read (as {@link io.falconq.core.calib.HessianAccumulator#takeHessian} hands it over), and
     * the array is overwritten and becomes {@link Prepared#upper()}. U is computed as J · L⁻¹ · J with
     * L = chol_lower(J · (P H Pᵀ + damp · I) · J) (P the act-order permutation, J the exchange matrix): the
     * permuted, reversed matrix is gathered into the strictly lower triangle while H stays intact in the upper one
     * for a retry with more damping; after the factorisation the upper triangle is cleared, L inverted in place
     * and the array reversed.
     *
     * <p>Peak memory: the caller's 8·in² bytes plus 8·64·in (one block of L's rows while inverting) plus O(in)
     * (dead, perm, L's diagonal) — no second in² array.
     */
    public static Prepared prepare(String name, double[] hessian, int in, IntQuantScheme scheme, double dampPercent,
                                   WorkerPool pool) {
        if (hessian.length != (long) in * in) {
            throw new IllegalArgumentException(name + ": Hessian of " + hessian.length + " values is not " + in + "²");
        }
        double[] h = hessian;
        boolean[] dead = new boolean[in];
        for (int i = 0; i < in; i++) {
            if (h[i * in + i] == 0) {
                dead[i] = true;
                h[i * in + i] = 1;
            }
        }
        int[] perm = IntStream.range(0, in).toArray();
        if (scheme.actOrder()) {
            double[] diag = new double[in];
            for (int i = 0; i < in; i++) {
                diag[i] = h[i * in + i];
            }
            perm = IntStream.range(0, in).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> -diag[i]))
                    .mapToInt(Integer::intValue).toArray();
        }
        double meanDiag = 0;
        for (int i = 0; i < in; i++) {
            meanDiag += h[perm[i] * in + perm[i]];
        }
        meanDiag /= in;

        double damp = dampPercent;
        double[] lowerDiag = new double[in];
        while (true) {
            gatherReversed(h, in, perm, damp * meanDiag, lowerDiag);
            if (InPlaceCholesky.lowerCholesky(h, in, lowerDiag, pool)) {
                break;
            }
            damp += DAMP_STEP;
            if (damp > 1.0) {
                throw new IllegalStateException(name + ": Hessian is not positive definite even with damp_percent 1.0"
                        + " (calibration activations NaN or degenerate?)");
            }
        }
        for (int r = 0; r < in; r++) {
            java.util.Arrays.fill(h, r * in + r + 1, (r + 1) * in, 0);
            h[r * in + r] = lowerDiag[r];
        }
        InPlaceCholesky.invertLower(h, in, pool);
        InPlaceCholesky.reverse(h);
        for (double v : h) {
            if (!Double.isFinite(v)) {
                throw new IllegalStateException(name + ": inverse Cholesky factor of the Hessian is not finite"
                        + " (damp_percent " + damp + "; calibration activations degenerate?)");
            }
        }
        return new Prepared(in, dead, perm, h, damp);
    }

    /**
     * Strictly lower triangle of {@code h} and {@code diag} ← J · (P H Pᵀ + damp · I) · J, reading H from the upper
     * triangle of {@code h}: entry (a, b) is H[perm[in−1−a], perm[in−1−b]].
     */
    private static void gatherReversed(double[] h, int in, int[] perm, double damp, double[] diag) {
        for (int a = 0; a < in; a++) {
            int pa = perm[in - 1 - a];
            diag[a] = h[pa * in + pa] + damp;
            for (int b = 0; b < a; b++) {
                int pb = perm[in - 1 - b];
                h[a * in + b] = pa < pb ? h[pa * in + pb] : h[pb * in + pa];
            }
        }
    }

    /** GPTQ of one weight with a prepared Hessian of the matching input ({@link #prepare}), on the calling thread. */
    public static Result quantize(String name, float[] w, int out, int in, Prepared prep, IntQuantScheme scheme) {
        return quantize(name, w, out, in, prep, scheme, CALLER_ONLY);
    }

    /**
     * GPTQ of one weight with a prepared Hessian of the matching input ({@link #prepare}), rows cut into fixed
     * blocks of {@value #ROW_BLOCK} that run on {@code pool}: the same result for any thread count. Extra memory:
     * the int result plus {@value #ROW_BLOCK} · in doubles per thread.
     */
    public static Result quantize(String name, float[] w, int out, int in, Prepared prep, IntQuantScheme scheme,
                                  WorkerPool pool) {
        if (w.length != (long) out * in || prep.in() != in) {
            throw new IllegalArgumentException(name + ": weight [" + out + ", " + in + "] and Hessian of " + prep.in()
                    + " columns do not match");
        }
        boolean[] dead = prep.dead();
        int[] order = prep.perm();
        int gs = scheme.effectiveGroupSize(in);
        int[] q = new int[out * in];
        float[] scales = new float[scheme.groupCount(in) * out];
        int[] zeros = new int[scheme.groupCount(in) * out];
        double[] rowLoss = new double[out];
        LazyBatchSweep sweep = new LazyBatchSweep(in, out, prep.upper(), scheme, q, scales, zeros);
        double[][] rowScratch = new double[pool.threads()][];
        double[][] errScratch = new double[pool.threads()][];
        pool.forEach((out + ROW_BLOCK - 1) / ROW_BLOCK, (b, worker) -> {
            if (rowScratch[worker] == null) {
                rowScratch[worker] = new double[ROW_BLOCK * in];
                errScratch[worker] = new double[ROW_BLOCK * LazyBatchSweep.COLUMN_BLOCK];
            }
            double[] rows = rowScratch[worker];
            int o0 = b * ROW_BLOCK;
            int n = Math.min(ROW_BLOCK, out - o0);
            for (int r = 0; r < n; r++) {
                int base = (o0 + r) * in;
                for (int k = 0; k < in; k++) {
                    int c = order[k];
                    rows[r * in + k] = dead[c] ? 0 : w[base + c];
                }
            }
            sweep.run(rows, o0, n, order, errScratch[worker], rowLoss);
        });

        int[] gIdx = new int[in];
        for (int k = 0; k < in; k++) {
            gIdx[order[k]] = k / gs;
        }
        double loss = 0;
        for (double l : rowLoss) {
            loss += l;
        }
        return new Result(new QuantizedLinear(name, out, in, scheme, q, scales, zeros, gIdx), loss, prep.dampPercent());
    }
}
