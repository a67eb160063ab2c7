package io.falconq.runtime.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise and reduction kernels on float arrays, each with its scalar reference.
 *
 * <p>Reproducibility rule for every kernel in this package: the vector paths use only operations that IEEE 754
 * rounds exactly (add, mul, fma, div, sqrt, compares, bit moves) and reductions in a fixed order. Vector API
 * transcendental ops ({@code EXP}, {@code LOG} …) are avoided: their interpreted fallback ({@code Math.exp}) and
 * their JIT intrinsic (SVML) can differ in the last bit, so a result would depend on how warm the JIT is.
 * Transcendentals go through the scalar {@link Math} methods, which HotSpot evaluates with the same stub in
 * every execution tier.
 */
public final class VectorOps {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();
    /** SWAP[i] exchanges lanes j and j ^ (1 << i): the butterfly steps of a fixed-order reduction. */
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] SWAP = new VectorShuffle[Integer.numberOfTrailingZeros(L)];

    static {
        for (int s = 0; s < SWAP.length; s++) {
            int bit = 1 << s;
            SWAP[s] = VectorShuffle.fromOp(F, j -> j ^ bit);
        }
    }

    private VectorOps() {
    }

    /**
     * Sum of the lanes by a butterfly of exact adds, fixed for a given vector length. ({@code reduceLanes(ADD)}
     * leaves the order to the implementation, which may differ between the interpreter and C2.)
     */
    public static float sumLanes(FloatVector v) {
        for (int s = SWAP.length - 1; s >= 0; s--) {
            v = v.add(v.rearrange(SWAP[s]));
        }
        return v.lane(0);
    }

    /** {@code Σ a[aOff+i]·b[bOff+i]} for i in [0, n). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        if (!KernelMode.VECTOR) {
            return dotScalar(a, aOff, b, bOff, n);
        }
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    public static float dotScalar(float[] a, int aOff, float[] b, int bOff, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /** {@code y[yOff+i] += a · x[xOff+i]}. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        if (KernelMode.VECTOR) {
            FloatVector av = FloatVector.broadcast(F, a);
            for (; i <= n - L; i += L) {
                FloatVector.fromArray(F, x, xOff + i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
            }
            for (; i < n; i++) {
                y[yOff + i] = Math.fma(x[xOff + i], a, y[yOff + i]);
            }
        } else {
            for (; i < n; i++) {
                y[yOff + i] += a * x[xOff + i];
            }
        }
    }

    /** {@code x[off+i] *= s}. */
    public static void scale(float[] x, int off, int n, float s) {
        int i = 0;
        if (KernelMode.VECTOR) {
            for (; i <= n - L; i += L) {
                FloatVector.fromArray(F, x, off + i).mul(s).intoArray(x, off + i);
            }
        }
        for (; i < n; i++) {
            x[off + i] *= s;
        }
    }

    /** {@code x[0, count) *= s}, skipped when s is 1 (a µP multiplier left at its default). */
    public static void scaleUnlessOne(float[] x, int count, float s) {
        if (s != 1f) {
            scale(x, 0, count, s);
        }
    }

    /** {@code dst[dOff+i] = a[aOff+i] · s}. */
    public static void scaleInto(float[] a, int aOff, float s, float[] dst, int dOff, int n) {
        int i = 0;
        if (KernelMode.VECTOR) {
            for (; i <= n - L; i += L) {
                FloatVector.fromArray(F, a, aOff + i).mul(s).intoArray(dst, dOff + i);
            }
        }
        for (; i < n; i++) {
            dst[dOff + i] = a[aOff + i] * s;
        }
    }

    /** {@code dst[dOff+i] += a[aOff+i]}. */
    public static void addInPlace(float[] dst, int dOff, float[] a, int aOff, int n) {
        int i = 0;
        if (KernelMode.VECTOR) {
            for (; i <= n - L; i += L) {
                FloatVector.fromArray(F, dst, dOff + i).add(FloatVector.fromArray(F, a, aOff + i)).intoArray(dst, dOff + i);
            }
        }
        for (; i < n; i++) {
            dst[dOff + i] += a[aOff + i];
        }
    }

    /** {@code dst[dOff+i] = a[aOff+i] · w[i]}, the element-wise product with a weight vector. */
    public static void mulWeights(float[] a, int aOff, float[] w, float[] dst, int dOff, int n) {
        int i = 0;
        if (KernelMode.VECTOR) {
            for (; i <= n - L; i += L) {
                FloatVector.fromArray(F, a, aOff + i).mul(FloatVector.fromArray(F, w, i)).intoArray(dst, dOff + i);
            }
        }
        for (; i < n; i++) {
            dst[dOff + i] = a[aOff + i] * w[i];
        }
    }

    /**
     * RMSNorm of one row: {@code dst = w ⊙ (x · 1/sqrt(mean(x²) + eps))}. The mean of squares is summed in double
     * (as ggml's CPU kernel does), the scaling is in float; HF computes {@code weight * (x * rsqrt(...))}, the same
     * two float products.
     */
    public static void rmsNorm(float[] x, int xOff, int n, float[] w, int wOff, float eps, float[] dst, int dOff) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            double v = x[xOff + i];
            ss += v * v;
        }
        float inv = (float) (1.0 / Math.sqrt((float) (ss / n) + eps));
        int i = 0;
        if (KernelMode.VECTOR) {
            for (; i <= n - L; i += L) {
                FloatVector.fromArray(F, x, xOff + i).mul(inv).mul(FloatVector.fromArray(F, w, wOff + i))
                        .intoArray(dst, dOff + i);
            }
        }
        for (; i < n; i++) {
            dst[dOff + i] = w[wOff + i] * (x[xOff + i] * inv);
        }
    }

    /** softplus(v) = log(1 + e^v), and v itself above 20 (PyTorch's threshold, also ggml's). */
    public static float softplus(float v) {
        return v > 20f ? v : (float) Math.log1p(Math.exp(v));
    }

    /** max over {@code x[off .. off+n)}. */
    public static float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (KernelMode.VECTOR && n >= L) {
            FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i <= n - L; i += L) {
                mv = mv.max(FloatVector.fromArray(F, x, off + i));
            }
            m = mv.reduceLanes(VectorOperators.MAX); // max is exact in any order
        }
        for (; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        return m;
    }
}
