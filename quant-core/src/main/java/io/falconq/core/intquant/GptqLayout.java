package io.falconq.core.intquant;

/**
 * The GPTQ checkpoint layout ("AutoGPTQ v1", {@code checkpoint_format: "gptq"}) that GPTQModel, transformers
 * and vLLM load (SPEC.md §3). A quantized linear {@code W[out, in]} is stored as four tensors instead of
 * {@code .weight}:
 * <pre>
 *   qweight  int32 [in / pf, out]        pf = 32 / bits values per word, packed along the INPUT dimension:
 *                                         word (r, o) holds q[o, pf·r + k] in bits [bits·k, bits·k + bits), k = 0 first
 *   qzeros   int32 [groups, ⌈out / pf⌉]  packed along the OUTPUT dimension the same way; each stored value is
 *                                         zero − 1 (the v1 convention loaders undo by adding 1)
 *   scales   fp16  [groups, out]
 *   g_idx    int32 [in]                   group of each input column: i / group_size, or a permutation's groups
 *                                         under act-order (desc_act)
 * </pre>
 * Dequantization: {@code W[o, i] = scales[g, o] · (q[o, i] − (stored_zero[g, o] + 1))}, {@code g = g_idx[i]}.
 * Sources: AutoGPTQ {@code qlinear_cuda_old.QuantLinear.pack} (bit order, {@code zeros -= 1}) and vLLM
 * {@code GPTQLinearMethod.create_weights} (shapes, {@code input_dim}/{@code output_dim}/{@code packed_dim}).
 *
 * <p>When {@code out} is not a multiple of pf, AutoGPTQ's {@code outfeatures // 32 * bits} would drop the last
 * zeros; we round the qzeros width up and leave the unused high fields 0, which keeps every zero. Engines with
 * that floor (vLLM's GPTQ kernels require {@code out % pf == 0} anyway) cannot load such a tensor; it only
 * occurs for toy sizes such as the tiny test model's in_proj (838 rows).
 */
public final class GptqLayout {
    private GptqLayout() {
    }

    /** qweight, (in / pf, out) row-major. */
    public static int[] packQweight(QuantizedLinear l) {
        int bits = l.scheme().bits();
        int pf = l.scheme().packFactor();
        if (l.in() % pf != 0) {
            throw new IllegalArgumentException(l.name() + ": " + l.in() + " input columns are not a multiple of " + pf
                    + " (GPTQ packs " + pf + " " + bits + "-bit values per int32 along the input dimension)");
        }
        int rows = l.in() / pf;
        int out = l.out();
        int mask = l.scheme().maxq();
        int[] packed = new int[rows * out];
        int[] q = l.q();
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                int word = 0;
                int base = o * l.in() + r * pf;
                for (int k = 0; k < pf; k++) {
                    word |= (q[base + k] & mask) << (bits * k);
                }
                packed[r * out + o] = word;
            }
        }
        return packed;
    }

    /** Width of qzeros, ⌈out / pf⌉. */
    public static int qzerosWidth(int out, IntQuantScheme s) {
        int pf = s.packFactor();
        return (out + pf - 1) / pf;
    }

    /** qzeros, (groups, ⌈out / pf⌉) row-major, values zero − 1. */
    public static int[] packQzeros(QuantizedLinear l) {
        int bits = l.scheme().bits();
        int pf = l.scheme().packFactor();
        int out = l.out();
        int groups = l.groups();
        int width = qzerosWidth(out, l.scheme());
        int mask = l.scheme().maxq();
        int[] packed = new int[groups * width];
        int[] zeros = l.zeros();
        for (int g = 0; g < groups; g++) {
            for (int c = 0; c < width; c++) {
                int word = 0;
                for (int k = 0; k < pf; k++) {
                    int o = c * pf + k;
                    if (o < out) {
                        int stored = zeros[g * out + o] - 1;
                        if (stored < 0 || stored > mask) {
                            throw new IllegalArgumentException(l.name() + ": zero point " + zeros[g * out + o]
                                    + " at group " + g + ", row " + o + " cannot be stored as zero − 1 in " + bits
                                    + " bits");
                        }
                        word |= (stored & mask) << (bits * k);
                    }
                }
                packed[g * width + c] = word;
            }
        }
        return packed;
    }

    /** scales as fp16 bits, (groups, out) row-major. */
    public static short[] scalesFp16(QuantizedLinear l) {
        float[] s = l.scales();
        short[] h = new short[s.length];
        for (int i = 0; i < s.length; i++) {
            h[i] = Float.floatToFloat16(s[i]);
        }
        return h;
    }

    /** Unpacks the four tensors back to integers ({@code zeros} with the +1 applied). */
    public static QuantizedLinear unpack(String name, IntQuantScheme scheme, int out, int in, int[] qweight,
                                         int[] qzeros, short[] scales, int[] gIdx) {
        int bits = scheme.bits();
        int pf = scheme.packFactor();
        int mask = scheme.maxq();
        int groups = scheme.groupCount(in);
        int width = qzerosWidth(out, scheme);
        if (in % pf != 0 || qweight.length != (long) in / pf * out || qzeros.length != (long) groups * width
                || scales.length != (long) groups * out || gIdx.length != in) {
            throw new IllegalArgumentException(name + ": GPTQ tensors do not match [" + out + ", " + in + "] with "
                    + groups + " groups of " + bits + " bits");
        }
        int[] q = new int[out * in];
        for (int r = 0; r < in / pf; r++) {
            for (int o = 0; o < out; o++) {
                int word = qweight[r * out + o];
                for (int k = 0; k < pf; k++) {
                    q[o * in + r * pf + k] = (word >>> (bits * k)) & mask;
                }
            }
        }
        int[] zeros = new int[groups * out];
        float[] sc = new float[groups * out];
        for (int g = 0; g < groups; g++) {
            for (int o = 0; o < out; o++) {
                int word = qzeros[g * width + o / pf];
                zeros[g * out + o] = ((word >>> (bits * (o % pf))) & mask) + 1;
                sc[g * out + o] = Float.float16ToFloat(scales[g * out + o]);
            }
        }
        for (int i = 0; i < in; i++) {
            if (gIdx[i] < 0 || gIdx[i] >= groups) {
                throw new IllegalArgumentException(name + ": g_idx[" + i + "] = " + gIdx[i] + " outside [0, " + groups + ")");
            }
        }
        return new QuantizedLinear(name, out, in, scheme, q, sc, zeros, gIdx.clone());
    }
}
