package io.falconq.core.intquant;

import io.falconq.core.parallel.WorkerPool;

/**
 * Round-to-nearest quantization of a whole weight, group by group ({@code rtn}), optionally with the
 * importance-weighted clipping search of {@link GroupQuantizer#clipSearch} ({@code clip}). Rows are independent,
 * so the parallel loop (fixed blocks of rows on the caller's pool) gives the same integers for any thread count.
 */
public final class RtnQuantizer {
    /** Output rows per pool task. */
    private static final int ROWS_PER_TASK = 16;
    /** The calling thread alone, for the overloads without a pool. */
    private static final WorkerPool CALLER = new WorkerPool(1);

    private RtnQuantizer() {
    }

    /** Row-group quantizer of one output row: its group parameters, codes, scales and zeros. */
    @FunctionalInterface
    private interface GroupParams {
        GroupQuantizer.Params of(int row, int c0, int len);
    }

    private static QuantizedLinear rows(String name, float[] w, int out, int in, IntQuantScheme scheme,
                                        WorkerPool pool, GroupParams params) {
        int gs = scheme.effectiveGroupSize(in);
        int groups = scheme.groupCount(in);
        int maxq = scheme.maxq();
        int[] q = new int[out * in];
        float[] scales = new float[groups * out];
        int[] zeros = new int[groups * out];
        pool.forEach((out + ROWS_PER_TASK - 1) / ROWS_PER_TASK, (task, worker) -> {
            for (int o = task * ROWS_PER_TASK; o < Math.min(out, (task + 1) * ROWS_PER_TASK); o++) {
                int row = o * in;
                for (int g = 0; g < groups; g++) {
                    int c0 = g * gs;
                    int len = Math.min(gs, in - c0);
                    GroupQuantizer.Params p = params.of(row, c0, len);
                    scales[g * out + o] = p.scale();
                    zeros[g * out + o] = p.zero();
                    for (int i = c0; i < c0 + len; i++) {
                        q[row + i] = GroupQuantizer.quantize(w[row + i], p, maxq);
                    }
                }
            }
        });
        return new QuantizedLinear(name, out, in, scheme, q, scales, zeros, sequentialGroups(in, gs));
    }

    /** As {@link #quantize(String, float[], int, int, IntQuantScheme, float[], boolean, WorkerPool)} on this thread. */
    public static QuantizedLinear quantize(String name, float[] w, int out, int in, IntQuantScheme scheme,
                                           float[] importance, boolean clip) {
        return quantize(name, w, out, in, scheme, importance, clip, CALLER);
    }

    /** As {@link #quantizeHessianClip(String, float[], int, int, IntQuantScheme, double[][], WorkerPool)} on this thread. */
    public static QuantizedLinear quantizeHessianClip(String name, float[] w, int out, int in, IntQuantScheme scheme,
                                                      double[][] hessian) {
        return quantizeHessianClip(name, w, out, in, scheme, hessian, CALLER);
    }

    /**
     * @param w          (out, in) row-major float weight
     * @param importance per input column (length in) for the clip search, or null for plain min/max
     * @param clip       whether to search the clipping ratio per group
     */
    public static QuantizedLinear quantize(String name, float[] w, int out, int in, IntQuantScheme scheme,
                                           float[] importance, boolean clip, WorkerPool pool) {
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException(name + ": " + w.length + " values for [" + out + ", " + in + "]");
        }
        if (importance != null && importance.length != in) {
            throw new IllegalArgumentException(name + ": importance has " + importance.length + " columns, weight has " + in);
        }
        return rows(name, w, out, in, scheme, pool, (row, c0, len) -> clip
                ? GroupQuantizer.clipSearch(w, row + c0, len, scheme, importance, c0)
                : GroupQuantizer.minMax(w, row + c0, len, scheme));
    }

    /** Round to nearest with AutoAWQ's clip search on the Hessian blocks ({@link GroupQuantizer#clipSearchHessian}). */
    public static QuantizedLinear quantizeHessianClip(String name, float[] w, int out, int in, IntQuantScheme scheme,
                                                      double[][] hessian, WorkerPool pool) {
        return rows(name, w, out, in, scheme, pool,
                (row, c0, len) -> GroupQuantizer.clipSearchHessian(w, row + c0, len, scheme, hessian, c0));
    }

    /** g_idx without act-order: input column i belongs to group i / groupSize. */
    public static int[] sequentialGroups(int in, int groupSize) {
        int[] g = new int[in];
        for (int i = 0; i < in; i++) {
            g[i] = i / groupSize;
        }
        return g;
    }
}
