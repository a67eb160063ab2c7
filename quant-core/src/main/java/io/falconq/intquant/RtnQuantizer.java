package io.falconq.intquant;

import java.util.stream.IntStream;

/**
 * Round-to-nearest quantization of a whole weight, group by group ({@code rtn}), optionally with the
 * importance-weighted clipping search of {@link GroupQuantizer#clipSearch} ({@code clip}). Rows are independent,
 * so the parallel loop gives the same integers for any thread count.
 */
public final class RtnQuantizer {
    private RtnQuantizer() {
    }

    /**
     * @param w          (out, in) row-major float weight
     * @param importance per input column (length in) for the clip search, or null for plain min/max
     * @param clip       whether to search the clipping ratio per group
     */
    public static QuantizedLinear quantize(String name, float[] w, int out, int in, IntQuantScheme scheme,
                                           float[] importance, boolean clip) {
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException(name + ": " + w.length + " values for [" + out + ", " + in + "]");
        }
        if (importance != null && importance.length != in) {
            throw new IllegalArgumentException(name + ": importance has " + importance.length + " columns, weight has " + in);
        }
        int gs = scheme.effectiveGroupSize(in);
        int groups = scheme.groupCount(in);
        int maxq = scheme.maxq();
        int[] q = new int[out * in];
        float[] scales = new float[groups * out];
        int[] zeros = new int[groups * out];
        IntStream.range(0, out).parallel().forEach(o -> {
            int row = o * in;
            for (int g = 0; g < groups; g++) {
                int c0 = g * gs;
                int len = Math.min(gs, in - c0);
                GroupQuantizer.Params p = clip
                        ? GroupQuantizer.clipSearch(w, row + c0, len, scheme, importance, c0)
                        : GroupQuantizer.minMax(w, row + c0, len, scheme);
                scales[g * out + o] = p.scale();
                zeros[g * out + o] = p.zero();
                for (int i = c0; i < c0 + len; i++) {
                    q[row + i] = GroupQuantizer.quantize(w[row + i], p, maxq);
                }
            }
        });
        return new QuantizedLinear(name, out, in, scheme, q, scales, zeros, sequentialGroups(in, gs));
    }

    /** Round to nearest with AutoAWQ's clip search on the Hessian blocks ({@link GroupQuantizer#clipSearchHessian}). */
    public static QuantizedLinear quantizeHessianClip(String name, float[] w, int out, int in, IntQuantScheme scheme,
                                                      double[][] hessian) {
        int gs = scheme.effectiveGroupSize(in);
        int groups = scheme.groupCount(in);
        int maxq = scheme.maxq();
        int[] q = new int[out * in];
        float[] scales = new float[groups * out];
        int[] zeros = new int[groups * out];
        IntStream.range(0, out).parallel().forEach(o -> {
            int row = o * in;
            for (int g = 0; g < groups; g++) {
                int c0 = g * gs;
                int len = Math.min(gs, in - c0);
                GroupQuantizer.Params p = GroupQuantizer.clipSearchHessian(w, row + c0, len, scheme, hessian, c0);
                scales[g * out + o] = p.scale();
                zeros[g * out + o] = p.zero();
                for (int i = c0; i < c0 + len; i++) {
                    q[row + i] = GroupQuantizer.quantize(w[row + i], p, maxq);
                }
            }
        });
        return new QuantizedLinear(name, out, in, scheme, q, scales, zeros, sequentialGroups(in, gs));
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
