package io.falconq.runtime.kernel;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.quant.GgmlRounding;
import io.falconq.core.quant.HalfFloat;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Locale;

/**
 * How the activations entering a linear layer are represented (the {@code --activations} option).
 *
 * <p>{@link Mode#F32} keeps them in float32: the product is computed with exactly dequantized weights.
 * {@link Mode#Q8} rounds them the way llama.cpp's CPU backend does before its quantized dot products
 * ({@code type_traits_cpu[type].vec_dot_type}): per 32-block Q8_0 for Q4_0, Q5_0, Q8_0 and IQ4_NL weights, Q8_1 for
 * Q4_1 and Q5_1, per 256-block Q8_K for the K-quants and IQ4_XS, and float16 / bfloat16 for F16 / BF16 weights
 * (llamafile's tinyBLAS converts the activations to the weight type); F32 weights take float32 activations.
 *
 * <p>llama.cpp then sums int8 × weight-code products per block in integers and scales each block sum by
 * {@code d_w·d_x}. Here the rounded activations are dequantized ({@code d_x·q}) and multiplied with the dequantized
 * weights in float32: the same real number, differing only by float rounding (≈1e-7 relative), and the products
 * run through the same float kernel as {@code f32} mode, so both modes cost the same. One term is not a product of
 * dequantized values and is carried explicitly: Q8_1 stores {@code s = fp16(d·Σq)} and llama.cpp adds
 * {@code m_w·s} per block, so {@link #correction} returns {@code s − fp16(d)·Σq} per block for the kernel to
 * multiply with the weights' block minimum.
 *
 * <p>Rounding follows the x86 builds (the CPU this is compared on): {@code quantize_row_q8_0}/{@code _q8_1}
 * (ggml-cpu/arch/x86/quants.c) use {@code id = 127/amax} and round half to even; Q8_K is
 * {@code quantize_row_q8_K_ref} (x86 calls it; its repacked-GEMM variant differs only when +amax and −amax
 * occur in the same block).
 */
public final class ActivationQuantizer {

    /** The {@code --activations} choice. */
    public enum Mode {
        F32, Q8;

        public static Mode parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "f32" -> F32;
                case "q8" -> Q8;
                default -> throw new IllegalArgumentException("unknown activation mode \"" + s + "\" (f32 or q8)");
            };
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** llama.cpp's activation formats ({@code vec_dot_type}). */
    public enum Format {
        F32(1), F16(1), BF16(1), Q8_0(32), Q8_1(32), Q8_K(256);

        /** Elements per scale block. */
        public final int blockSize;

        Format(int blockSize) {
            this.blockSize = blockSize;
        }

        /** Whether a Q8_1 correction term per block is added by the kernel. */
        public boolean hasCorrection() {
            return this == Q8_1;
        }
    }

    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();

    private ActivationQuantizer() {
    }

    /** The activation format llama.cpp pairs with weights of {@code type} ({@code vec_dot_type}, ggml-cpu.c). */
    public static Format formatFor(GgmlType type) {
        return switch (type) {
            case F32 -> Format.F32;
            case F16 -> Format.F16;
            case BF16 -> Format.BF16;
            case Q4_0, Q5_0, Q8_0, IQ4_NL -> Format.Q8_0;
            case Q4_1, Q5_1 -> Format.Q8_1;
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS -> Format.Q8_K;
            default -> throw new IllegalArgumentException("no llama.cpp activation format for weight type " + type);
        };
    }

    /**
     * Writes {@code src[srcOff .. srcOff+n)} rounded in {@code format} (and dequantized) to {@code dst[dstOff ..]};
     * for {@link Format#Q8_1} also the per-block correction {@code fp16(d·Σq) − fp16(d)·Σq} to
     * {@code corr[corrOff + b]}. {@code n} is a multiple of the format's block size. Source and destination may
     * be the same array region.
     */
    public static void round(Format format, float[] src, int srcOff, float[] dst, int dstOff, int n, float[] corr,
                             int corrOff) {
        if (n % format.blockSize != 0) {
            throw new IllegalArgumentException(n + " activations are not a multiple of " + format + "'s block of "
                    + format.blockSize);
        }
        switch (format) {
            case F32 -> System.arraycopy(src, srcOff, dst, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Float.float16ToFloat(HalfFloat.fp32ToFp16(src[srcOff + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = HalfFloat.bf16ToFp32(HalfFloat.fp32ToBf16(src[srcOff + i]));
                }
            }
            case Q8_0, Q8_1 -> {
                for (int b = 0; b < n / 32; b++) {
                    float c = KernelMode.VECTOR
                            ? roundQ8Vector(src, srcOff + 32 * b, dst, dstOff + 32 * b)
                            : roundQ8Scalar(src, srcOff + 32 * b, dst, dstOff + 32 * b);
                    if (format == Format.Q8_1) {
                        corr[corrOff + b] = c;
                    }
                }
            }
            case Q8_K -> {
                for (int b = 0; b < n / 256; b++) {
                    roundQ8K(src, srcOff + 256 * b, dst, dstOff + 256 * b);
                }
            }
        }
    }

    // ---- Q8_0 / Q8_1 (32-blocks) --------------------------------------------------------------------------

    /**
     * x86 {@code quantize_row_q8_0} / {@code quantize_row_q8_1} on one block, dequantized. Returns the Q8_1
     * correction {@code fp16(d·Σq) − fp16(d)·Σq} (ignored for Q8_0).
     */
    static float roundQ8Scalar(float[] x, int xOff, float[] y, int yOff) {
        float amax = 0f;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[xOff + j]));
        }
        final float d = amax / 127.f;
        final float id = amax != 0.0f ? 127.f / amax : 0.0f;
        final float dStored = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(d));
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int) Math.rint(x[xOff + j] * id);   // _mm256_round_ps(_MM_ROUND_NEAREST): half to even
            sum += q;
            y[yOff + j] = q * dStored;
        }
        return correction(d, dStored, sum);
    }

    /** The same, with the block in {@code 32 / L} vectors (max, multiply and rounding are exact lane-wise). */
    static float roundQ8Vector(float[] x, int xOff, float[] y, int yOff) {
        FloatVector amaxV = FloatVector.zero(F);
        for (int j = 0; j < 32; j += L) {
            amaxV = amaxV.max(FloatVector.fromArray(F, x, xOff + j).abs());
        }
        float amax = amaxV.reduceLanes(VectorOperators.MAX);
        final float d = amax / 127.f;
        final float id = amax != 0.0f ? 127.f / amax : 0.0f;
        final float dStored = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(d));
        FloatVector sumV = FloatVector.zero(F);
        for (int j = 0; j < 32; j += L) {
            FloatVector q = rint(FloatVector.fromArray(F, x, xOff + j).mul(id));
            sumV = sumV.add(q);   // integers below 2^24: exact in any order
            q.mul(dStored).intoArray(y, yOff + j);
        }
        return correction(d, dStored, (int) sumV.reduceLanes(VectorOperators.ADD));
    }

    private static float correction(float d, float dStored, int sum) {
        float s = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(d * sum));
        return s - dStored * sum;
    }

    /** Round half to even for |v| < 2^22: adding and removing 1.5·2^23 leaves the integer the FPU rounded to. */
    private static FloatVector rint(FloatVector v) {
        final float magic = 12582912.0f;
        return v.add(magic).sub(magic);
    }

    // ---- Q8_K (256-blocks) --------------------------------------------------------------------------------

    /** {@code quantize_row_q8_K_ref} on one block, dequantized ({@code dequantize_row_q8_K}: d·q, d float32). */
    static void roundQ8K(float[] x, int xOff, float[] y, int yOff) {
        float max = 0;
        float amax = 0;
        for (int j = 0; j < 256; ++j) {
            float ax = Math.abs(x[xOff + j]);
            if (ax > amax) {
                amax = ax;
                max = x[xOff + j];
            }
        }
        if (amax == 0) {
            java.util.Arrays.fill(y, yOff, yOff + 256, 0f);
            return;
        }
        final float iscale = -127.f / max;
        final float d = 1 / iscale;
        for (int j = 0; j < 256; ++j) {
            int v = Math.min(127, GgmlRounding.nearestInt(iscale * x[xOff + j]));
            y[yOff + j] = d * v;
        }
    }
}
