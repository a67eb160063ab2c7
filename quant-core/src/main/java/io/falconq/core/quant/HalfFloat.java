package io.falconq.core.quant;

/**
 * IEEE binary16 and bfloat16 conversions that reproduce ggml bit for bit.
 *
 * <ul>
 *   <li>fp32 → fp16: {@code ggml_compute_fp32_to_fp16} (ggml-impl.h), round to nearest even, subnormals kept,
 *       overflow to ±inf, and every NaN becomes the canonical quiet NaN {@code sign | 0x7E00} (the payload is
 *       dropped). {@link Float#floatToFloat16} agrees with ggml on every non-NaN input (checked exhaustively
 *       by {@code HalfFloatTest}) but keeps NaN payload bits, so NaN is handled here first.</li>
 *   <li>fp16 → fp32: exact (every half is a float); {@code ggml_compute_fp16_to_fp32} keeps NaN payloads, as does
 *       {@link Float#float16ToFloat}. A 65536-entry table avoids the per-call branches.</li>
 *   <li>fp32 → bf16: {@code ggml_compute_fp32_to_bf16}, round to nearest even on the upper 16 bits, NaN made quiet
 *       by setting bit 6 of the result. Subnormals are not flushed.</li>
 *   <li>bf16 → fp32: the 16 bits become the upper half of the float.</li>
 * </ul>
 */
public final class HalfFloat {
    private HalfFloat() {
    }

    /** fp16 bits (as an unsigned index) → float, filled from {@link #ggmlFp16ToFp32Reference}. */
    private static final float[] FP16_TO_FP32 = new float[1 << 16];

    static {
        for (int h = 0; h < FP16_TO_FP32.length; h++) {
            FP16_TO_FP32[h] = ggmlFp16ToFp32Reference((short) h);
        }
    }

    /** {@code GGML_FP32_TO_FP16(f)}: the fp16 bit pattern. */
    public static short fp32ToFp16(float f) {
        if (f != f) {
            // ggml: shl1_w > 0xFF000000 → canonical quiet NaN with the input's sign
            return (short) ((Float.floatToRawIntBits(f) >>> 16 & 0x8000) | 0x7E00);
        }
        return Float.floatToFloat16(f);
    }

    /** {@code GGML_FP16_TO_FP32(h)}. */
    public static float fp16ToFp32(short h) {
        return FP16_TO_FP32[h & 0xFFFF];
    }

    /** {@code GGML_FP32_TO_BF16(f)} ({@code ggml_compute_fp32_to_bf16}): the bf16 bit pattern. */
    public static short fp32ToBf16(float f) {
        int i = Float.floatToRawIntBits(f);
        if ((i & 0x7fffffff) > 0x7f800000) {
            return (short) ((i >>> 16) | 64); // NaN: force quiet
        }
        return (short) ((i + (0x7fff + ((i >>> 16) & 1))) >>> 16);
    }

    /** {@code GGML_BF16_TO_FP32(h)}. */
    public static float bf16ToFp32(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /**
     * Literal port of {@code ggml_compute_fp32_to_fp16} (the FP16 library's branch-light algorithm): scale into
     * the half range so the float adder does the rounding, then re-bias. Kept as the reference that
     * {@link #fp32ToFp16} is tested against.
     */
    static short ggmlFp32ToFp16Reference(float f) {
        final float scaleToInf = 0x1.0p+112f;
        final float scaleToZero = 0x1.0p-110f;
        float base = (Math.abs(f) * scaleToInf) * scaleToZero;

        final int w = Float.floatToRawIntBits(f);
        final int shl1W = w + w;
        final int sign = w & 0x80000000;
        int bias = shl1W & 0xFF000000;
        if (Integer.compareUnsigned(bias, 0x71000000) < 0) {
            bias = 0x71000000;
        }

        base = Float.intBitsToFloat((bias >>> 1) + 0x07800000) + base;
        final int bits = Float.floatToRawIntBits(base);
        final int expBits = (bits >>> 13) & 0x00007C00;
        final int mantissaBits = bits & 0x00000FFF;
        final int nonsign = expBits + mantissaBits;
        return (short) ((sign >>> 16) | (Integer.compareUnsigned(shl1W, 0xFF000000) > 0 ? 0x7E00 : nonsign));
    }

    /** Literal port of {@code ggml_compute_fp16_to_fp32}. */
    static float ggmlFp16ToFp32Reference(short h) {
        final int w = (h & 0xFFFF) << 16;
        final int sign = w & 0x80000000;
        final int twoW = w + w;

        final int expOffset = 0xE0 << 23;
        final float expScale = 0x1.0p-112f;
        final float normalizedValue = Float.intBitsToFloat((twoW >>> 4) + expOffset) * expScale;

        final int magicMask = 126 << 23;
        final float magicBias = 0.5f;
        final float denormalizedValue = Float.intBitsToFloat((twoW >>> 17) | magicMask) - magicBias;

        final int denormalizedCutoff = 1 << 27;
        final int result = sign | (Integer.compareUnsigned(twoW, denormalizedCutoff) < 0
                ? Float.floatToRawIntBits(denormalizedValue)
                : Float.floatToRawIntBits(normalizedValue));
        return Float.intBitsToFloat(result);
    }
}
