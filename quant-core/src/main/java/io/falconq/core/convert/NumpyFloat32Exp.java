package io.falconq.core.convert;

/**
 * {@code exp} on float32 exactly as numpy computes {@code np.exp} on a float32 array with its SIMD kernel
 * ({@code simd_exp_f32} / {@code npyv_exp_FLOAT_kernel}, numpy/_core/src/umath/loops_exponent_log.dispatch.c.src):
 * Cody–Waite range reduction {@code k = rint(x·log2e)}, {@code y = x + k·c1 + k·c2} with fused multiply-adds, a
 * degree-5/degree-2 rational approximation of {@code exp(y)} evaluated with FMAs, then scaling by {@code 2^k}.
 *
 * <p>Why not {@link Math#exp}: llama.cpp's converter stores {@code A = −exp(A_log)} computed in float32 by the array
 * library, which is not correctly rounded (up to ~2.5 ulp); the correctly rounded value differs in the last bits for
 * 10 of the 24 {@code ssm_a} values of the tiny model, and {@code tiny-F32.gguf} holds numpy's values.
 * Valid for the SIMD kernel's finite range; outside it, returns +inf or 0 as the kernel does.
 */
final class NumpyFloat32Exp {
    private static final float XMAX = 88.72283935546875f;
    private static final float XMIN = -103.97208404541015625f;
    private static final float LOG2E = 1.442695040888963407359924681001892137f; // NPY_LOG2Ef
    private static final float CODY_WAITE_LOGE_2_HIGH = -6.93145752e-1f;
    private static final float CODY_WAITE_LOGE_2_LOW = -1.42860677e-6f;
    private static final float P0 = 9.999999999980870924916e-01f;
    private static final float P1 = 7.257664613233124478488e-01f;
    private static final float P2 = 2.473615434895520810817e-01f;
    private static final float P3 = 5.114512081637298353406e-02f;
    private static final float P4 = 6.757896990527504603057e-03f;
    private static final float P5 = 5.082762527590693718096e-04f;
    private static final float Q0 = 1.000000000000000000000e+00f;
    private static final float Q1 = -2.742335390411667452936e-01f;
    private static final float Q2 = 2.159509375685829852307e-02f;

    private NumpyFloat32Exp() {
    }

    static float exp(float x) {
        if (Float.isNaN(x)) {
            return x;
        }
        if (x >= XMAX) {
            return Float.POSITIVE_INFINITY;
        }
        if (x <= XMIN) {
            return 0.0f;
        }
        float k = (float) Math.rint(x * LOG2E);
        float y = Math.fma(k, CODY_WAITE_LOGE_2_HIGH, x);
        y = Math.fma(k, CODY_WAITE_LOGE_2_LOW, y);
        float num = Math.fma(P5, y, P4);
        num = Math.fma(num, y, P3);
        num = Math.fma(num, y, P2);
        num = Math.fma(num, y, P1);
        num = Math.fma(num, y, P0);
        float den = Math.fma(Q2, y, Q1);
        den = Math.fma(den, y, Q0);
        float poly = num / den;
        // poly · 2^k; k in [-150, 128], so scale in two exact steps to avoid an out-of-range exponent field
        int ki = (int) k;
        return Math.scalb(poly, ki);
    }
}
