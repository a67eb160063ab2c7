package io.falconq.core.quant;

/**
 * The largest |x| of a block, as ggml's reference quantizers find it, computed on the bit patterns: for |x| the
 * sign bit is cleared, and non-negative floats order like their bits as ints. An int max reduction has no
 * float-max semantics (NaN, −0) to honour, so C2 vectorises it; a float {@code Math.max} chain ran 10× slower.
 * Callers have rejected non-finite weights already.
 */
final class AbsMax {
    private AbsMax() {
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
