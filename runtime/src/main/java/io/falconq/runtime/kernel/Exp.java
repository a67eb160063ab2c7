package io.falconq.runtime.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp(x) in float32 built only from exactly rounded operations, so that the vector path, the scalar path and every
 * JIT tier give the same bits (Vector API's own {@code EXP} is an SVML intrinsic in C2 but {@code Math.exp} in the
 * interpreter). Accuracy ≈ 1 ulp over the float range.
 *
 * <p>Algorithm (Cephes {@code expf}): k = round(x·log2 e) by the 1.5·2²³ trick; r = x − k·ln2 in two parts
 * (Cody–Waite); exp(r) ≈ 1 + r + r²·P(r) with Cephes' degree-5 minimax P on |r| ≤ ln2/2; the result is scaled by
 * 2^k through the exponent bits. x below −86.6 gives 0 (true value < 2.6·10⁻³⁸), above 88.7 gives +∞.
 */
public final class Exp {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int L = F.length();

    private static final float LOG2E = 1.44269504088896341f;
    private static final float ROUND_MAGIC = 12582912f; // 1.5·2^23
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500E-4f;
    private static final float P1 = 1.3981999507E-3f;
    private static final float P2 = 8.3334519073E-3f;
    private static final float P3 = 4.1665795894E-2f;
    private static final float P4 = 1.6666665459E-1f;
    private static final float P5 = 5.0000001201E-1f;
    private static final float MIN_X = -86.6f;      // below: result < 2.6e-38, returned as 0 (keeps 2^k normal)
    private static final float MAX_X = 88.72283f;    // above: overflow

    private Exp() {
    }

    public static float exp(float x) {
        if (x < MIN_X) {
            return 0f;
        }
        if (x > MAX_X) {
            return x != x ? x : Float.POSITIVE_INFINITY;
        }
        float t = Math.fma(x, LOG2E, ROUND_MAGIC);
        float k = t - ROUND_MAGIC;
        float r = Math.fma(k, -LN2_HI, x);
        r = Math.fma(k, -LN2_LO, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float r2 = r * r;
        float y = Math.fma(p, r2, r) + 1f;
        int ki = (int) k;
        // 2^k for k in [−126, 128): split so that k = 128 (x near MAX_X) does not overflow the exponent field
        float scale = Float.intBitsToFloat((ki + 126) << 23);
        return y * scale * 2f;
    }

    public static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.compare(VectorOperators.LT, MIN_X);
        VectorMask<Float> over = x.compare(VectorOperators.GT, MAX_X);
        FloatVector xc = x.max(MIN_X).min(MAX_X);
        FloatVector t = xc.fma(FloatVector.broadcast(F, LOG2E), FloatVector.broadcast(F, ROUND_MAGIC));
        FloatVector k = t.sub(ROUND_MAGIC);
        FloatVector r = k.fma(FloatVector.broadcast(F, -LN2_HI), xc);
        r = k.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, P0).fma(r, FloatVector.broadcast(F, P1));
        p = p.fma(r, FloatVector.broadcast(F, P2));
        p = p.fma(r, FloatVector.broadcast(F, P3));
        p = p.fma(r, FloatVector.broadcast(F, P4));
        p = p.fma(r, FloatVector.broadcast(F, P5));
        FloatVector r2 = r.mul(r);
        FloatVector y = p.fma(r2, r).add(1f);
        IntVector ki = (IntVector) k.convertShape(VectorOperators.F2I, I, 0);
        FloatVector scale = ki.add(126).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector out = y.mul(scale).mul(2f);
        out = out.blend(0f, under);
        return out.blend(Float.POSITIVE_INFINITY, over);
    }

    /** {@code x[off+i] = exp(x[off+i] − shift)}; returns the sum of the results, added in a fixed order. */
    public static float expShiftedInPlace(float[] x, int off, int n, float shift) {
        int i = 0;
        float sum = 0f;
        if (KernelMode.VECTOR) {
            FloatVector acc = FloatVector.zero(F);
            for (; i <= n - L; i += L) {
                FloatVector e = exp(FloatVector.fromArray(F, x, off + i).sub(shift));
                e.intoArray(x, off + i);
                acc = acc.add(e);
            }
            sum = VectorOps.sumLanes(acc);
        }
        for (; i < n; i++) {
            float e = exp(x[off + i] - shift);
            x[off + i] = e;
            sum += e;
        }
        return sum;
    }

    /** {@code Σ exp(x[off+i] − shift)} without writing, in a fixed order. */
    public static float sumExpShifted(float[] x, int off, int n, float shift) {
        int i = 0;
        float sum = 0f;
        if (KernelMode.VECTOR) {
            FloatVector acc = FloatVector.zero(F);
            for (; i <= n - L; i += L) {
                acc = acc.add(exp(FloatVector.fromArray(F, x, off + i).sub(shift)));
            }
            sum = VectorOps.sumLanes(acc);
        }
        for (; i < n; i++) {
            sum += exp(x[off + i] - shift);
        }
        return sum;
    }

    /** silu(v) = v / (1 + e^−v), through {@link #exp(float)}. */
    public static float silu(float v) {
        return v / (1f + exp(-v));
    }

    public static FloatVector silu(FloatVector v) {
        return v.div(exp(v.neg()).add(1f));
    }

    /** {@code x[off+i] = silu(x[off+i])}. */
    public static void siluInPlace(float[] x, int off, int n) {
        int i = 0;
        if (KernelMode.VECTOR) {
            for (; i <= n - L; i += L) {
                silu(FloatVector.fromArray(F, x, off + i)).intoArray(x, off + i);
            }
        }
        for (; i < n; i++) {
            x[off + i] = silu(x[off + i]);
        }
    }

    /** {@code y[yOff+i] *= silu(z[zOff+i])}: the SSM output gate. */
    public static void mulSilu(float[] y, int yOff, float[] z, int zOff, int n) {
        int i = 0;
        if (KernelMode.VECTOR) {
            for (; i <= n - L; i += L) {
                FloatVector.fromArray(F, y, yOff + i).mul(silu(FloatVector.fromArray(F, z, zOff + i))).intoArray(y, yOff + i);
            }
        }
        for (; i < n; i++) {
            y[yOff + i] = y[yOff + i] * silu(z[zOff + i]);
        }
    }

    /** {@code gate[i] = up[i] · silu(gate[i] · gateMultiplier)}: the SwiGLU product, in place in {@code gate}. */
    public static void swiglu(float[] gate, float[] up, int off, int n, float gateMultiplier) {
        int i = 0;
        if (KernelMode.VECTOR) {
            for (; i <= n - L; i += L) {
                FloatVector g = FloatVector.fromArray(F, gate, off + i).mul(gateMultiplier);
                FloatVector.fromArray(F, up, off + i).mul(silu(g)).intoArray(gate, off + i);
            }
        }
        for (; i < n; i++) {
            gate[off + i] = up[off + i] * silu(gate[off + i] * gateMultiplier);
        }
    }
}
