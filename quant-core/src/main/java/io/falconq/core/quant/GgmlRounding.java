package io.falconq.core.quant;

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

    /**
     * {@code (int) roundf(x)} for |x| < 2³¹, without the double round trip of {@link #roundf}: the truncated value
     * t = (int) x differs from x by an exactly representable fraction f (|f| < 1, a multiple of x's ulp), and
     * (int) (2f) is ±1 exactly when |f| ≥ ½, i.e. when roundf moves away from zero. Branch-free, so C2 can
     * vectorise loops over it. NaN gives 0, as {@code (int) roundf(NaN)} does in Java. Checked against
     * {@link #roundf} on every float bit pattern below 2³¹ in magnitude (GgmlRoundingTest samples it).
     */
    public static int roundfToInt(float x) {
        int t = (int) x;
        return t + (int) ((x - t) * 2.0f);
    }
}
