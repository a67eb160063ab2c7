package io.falconq.core.intquant;

/**
 * One linear weight {@code W[out, in]} quantized to integers, unpacked: the values GPTQ checkpoints store
 * packed (SPEC.md §3). Dequantization: {@code W[o,i] = scales[g,o] · (q[o,i] − zeros[g,o])} with
 * {@code g = gIdx[i]}.
 *
 * @param q      (out, in) row-major, each in [0, 2^bits − 1]
 * @param scales (groups, out) row-major, each exactly representable in fp16 (it is stored as fp16)
 * @param zeros  (groups, out) row-major, each in [0, 2^bits − 1] (stored as zero − 1 in {@code qzeros})
 * @param gIdx   (in) group of each input column
 */
public record QuantizedLinear(String name, int out, int in, IntQuantScheme scheme, int[] q, float[] scales,
                              int[] zeros, int[] gIdx) {
    public QuantizedLinear {
        int groups = scheme.groupCount(in);
        if (q.length != (long) out * in || scales.length != (long) groups * out || zeros.length != (long) groups * out
                || gIdx.length != in) {
            throw new IllegalArgumentException(name + ": inconsistent array sizes for [" + out + ", " + in + "] with "
                    + groups + " groups");
        }
    }

    public int groups() {
        return scheme.groupCount(in);
    }

    public float dequantize(int o, int i) {
        int g = gIdx[i];
        return scales[g * out + o] * (q[o * in + i] - zeros[g * out + o]);
    }

    /** The dequantized weight, (out, in) row-major. */
    public float[] dequantize() {
        float[] w = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                w[o * in + i] = dequantize(o, i);
            }
        }
        return w;
    }
}
