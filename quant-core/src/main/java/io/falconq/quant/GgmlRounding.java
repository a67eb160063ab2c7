package io.falconq.quant;

/** The two rounding functions ggml's quantizers use, with C's exact semantics. */
public final class GgmlRounding {
    private GgmlRounding() {
    }

    /**
     * Port of {@code nearest_int} (ggml-quants.c): adding 1.5·2²³ makes the float adder round to the nearest
     * integer (ties to even) into the low mantissa bits, which are then read back. For |fval| ≤ 4194303 this is
     * {@code (int) Math.rint(fval)}; outside that range ggml only asserts (in debug builds), and this port keeps the
     * same bit arithmetic so even out-of-range inputs give ggml's result.
     */
    public static int nearestInt(float fval) {
        float val = fval + 12582912.f;
        int i = Float.floatToRawIntBits(val);
        return (i & 0x007fffff) - 0x00400000;
    }

    /**
     * C {@code roundf}: nearest integer, halfway cases away from zero, returned as float. ({@link Math#round} rounds
     * halves up, which is wrong for negative halves.) {@code x ± 0.5} is computed in double, where it is exact for
     * every float below 2²³, and then truncated, so 0.49999997f does not round up as a float addition would.
     */
    public static float roundf(float x) {
        if (!(Math.abs(x) < 0x1.0p23f)) {
            return x; // already integral, or NaN/inf
        }
        float r = (long) ((double) x + Math.copySign(0.5, x));
        return Math.copySign(r, x); // keeps C's -0.0 for -0.5 < x < 0
    }
}
