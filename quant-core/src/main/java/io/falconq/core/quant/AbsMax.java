package io.falconq.core.quant;

/**
 * The largest |x| of a block, as ggml's quantizers find it. {@link #of} and {@link #signedOf} work on the bit
 * patterns: for |x| the sign bit is cleared, and non-negative floats order like their bits as ints. An int max
 * reduction has no float-max semantics (NaN, −0) to honour, so C2 vectorises it; a float {@code Math.max} chain ran
 * 10× slower. Their callers have rejected non-finite weights already. {@link #firstLargest} is ggml's float loop.
 */
public final class AbsMax {
    private AbsMax() {
    }

    /**
     * The signed value of the first element with the largest |x|, by ggml's float loop {@code if (ax > amax)
     * { amax = ax; max = x[i]; }} from {@code amax = max = 0} ({@code make_qx_quants}, {@code make_q3_quants},
     * {@code quantize_row_q8_K_ref}, {@code quantize_row_iq4_nl_impl}): NaN never wins, and an all-zero block
     * gives +0. Its |x| is the loop's {@code amax}. Unlike {@link #signedOf} this takes inputs that may hold NaN
     * (scales fitted from overflowing sums).
     */
    public static float firstLargest(float[] x, int off, int n) {
        float max = 0;
        float amax = 0;
        for (int i = off; i < off + n; ++i) {
            float ax = Math.abs(x[i]);
            if (ax > amax) {
                amax = ax;
                max = x[i];
            }
        }
        return max;
    }

    /** {@code amax = MAX(amax, fabsf(x[j]))} over the block, starting from 0. */
    static float of(float[] x, int off, int n) {
        return Float.intBitsToFloat(maxAbsBits(x, off, n));
    }

    /**
     * The signed value of the first element with the largest |x| — {@code if (amax < fabsf(v)) { amax = fabsf(v);
     * max = v; }} — or +0 when every element is ±0 (ggml's loop then never updates {@code max}).
     */
    static float signedOf(float[] x, int off, int n) {
        int absBits = maxAbsBits(x, off, n);
        if (absBits == 0) {
            return 0.0f;
        }
        int j = off;
        while ((Float.floatToRawIntBits(x[j]) & 0x7fffffff) != absBits) {
            j++;
        }
        return x[j];
    }

    private static int maxAbsBits(float[] x, int off, int n) {
        int bits = 0;
        for (int j = off; j < off + n; j++) {
            bits = Math.max(bits, Float.floatToRawIntBits(x[j]) & 0x7fffffff);
        }
        return bits;
    }
}
