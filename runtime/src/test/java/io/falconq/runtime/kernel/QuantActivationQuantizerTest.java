package io.falconq.runtime.kernel;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.quant.HalfFloat;
import io.falconq.core.quant.QuantType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ActivationQuantizer}: llama.cpp's activation rounding per weight type, exactly (no tolerance: these are
 * roundings, and the point of q8 mode is to land on the same values as llama.cpp).
 */
class QuantActivationQuantizerTest {

    private static float[] rows(long seed, int n) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * Math.exp(r.nextGaussian()));
        }
        // edge blocks: all zero, constant, one huge outlier, exact half-way products
        for (int i = 32; i < 64; i++) {
            x[i] = 0f;
        }
        for (int i = 64; i < 96; i++) {
            x[i] = -0.3f;
        }
        x[100] = 6.0e4f;
        for (int i = 128; i < 160; i++) {
            x[i] = (i - 128) * 0.5f;   // amax 15.5, id = 127/15.5 not exact: mixed rounding
        }
        x[160] = 127f;                // amax 127: id = 1, so x = k + 0.5 is an exact tie
        for (int i = 161; i < 192; i++) {
            x[i] = (i - 176) + 0.5f;
        }
        return x;
    }

    @Test
    void vectorQ8RoundingEqualsScalarBitForBit() {
        float[] x = rows(1, 4096);
        for (int b = 0; b < x.length / 32; b++) {
            float[] a = new float[32];
            float[] v = new float[32];
            float ca = ActivationQuantizer.roundQ8Scalar(x, 32 * b, a, 0);
            float cv = ActivationQuantizer.roundQ8Vector(x, 32 * b, v, 0);
            for (int j = 0; j < 32; j++) {
                assertEquals(Float.floatToRawIntBits(a[j]), Float.floatToRawIntBits(v[j]), "block " + b + " element " + j);
            }
            assertEquals(Float.floatToRawIntBits(ca), Float.floatToRawIntBits(cv), "block " + b + " correction");
        }
    }

    /**
     * x86 {@code quantize_row_q8_0}: id = 127/amax and {@code _mm256_round_ps(_MM_ROUND_NEAREST)} (ties to even),
     * unlike the reference {@code quantize_row_q8_0_ref} (id = 1/d, {@code roundf}: ties away from zero). In the
     * block with amax = 127, id = 1 and x = k + 0.5 are exact ties: −14.5 → −14, −13.5 → −14, 0.5 → 0, 1.5 → 2.
     */
    @Test
    void q8_0RoundsLikeTheX86BuildTiesToEven() {
        float[] x = rows(2, 256);
        float[] y = rounded(ActivationQuantizer.Format.Q8_0, x);
        float d = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(127f / 127f));
        assertEquals(1.0f, d);
        assertEquals(127f, y[160]);
        assertEquals(-14f, y[161]);   // −14.5
        assertEquals(-14f, y[162]);   // −13.5
        assertEquals(0f, y[176]);     // 0.5
        assertEquals(2f, y[177]);     // 1.5
        // all-zero block stays zero; a constant block is exact (q = −127, d = 0.3/127 → fp16)
        for (int i = 32; i < 64; i++) {
            assertEquals(0f, y[i]);
        }
        float dc = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(0.3f / 127f));
        assertEquals(-127 * dc, y[64]);
    }

    @Test
    void everyQ8_0ValueIsAnInt8TimesTheStoredFp16Scale() {
        float[] x = rows(3, 2048);
        float[] y = rounded(ActivationQuantizer.Format.Q8_0, x);
        for (int b = 0; b < 64; b++) {
            float amax = blockAmax(x, b);
            float d = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(amax / 127f));
            for (int j = 0; j < 32; j++) {
                float q = d == 0 ? 0 : y[32 * b + j] / d;
                assertEquals(Math.rint(q), q, 1e-3, "block " + b);
                assertTrue(Math.abs(q) <= 127.001, "block " + b + " code " + q);
                // nearest code: the rounding error is at most half a step of the unrounded scale
                assertTrue(Math.abs(Math.rint(q) * (amax / 127f) - x[32 * b + j]) <= 0.5001 * amax / 127f + 1e-30,
                        "block " + b + " element " + j);
            }
        }
    }

    /** The Q8_1 correction is fp16(d·Σq) − fp16(d)·Σq, with d = amax/127 unrounded (x86 quantize_row_q8_1). */
    @Test
    void q8_1CorrectionIsTheFp16RoundingOfTheBlockSum() {
        float[] x = rows(4, 512);
        float[] corr = new float[16];
        float[] y = rounded(ActivationQuantizer.Format.Q8_1, x, corr);
        for (int b = 0; b < 16; b++) {
            float amax = blockAmax(x, b);
            float d = amax / 127f;
            float dStored = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(d));
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                sum += dStored == 0 ? 0 : Math.round(y[32 * b + j] / dStored);
            }
            float expected = HalfFloat.fp16ToFp32(HalfFloat.fp32ToFp16(d * sum)) - dStored * sum;
            assertEquals(expected, corr[b], "block " + b);
        }
    }

    /** Q8_K against quant-core's port of {@code quantize_row_q8_K_ref} + {@code dequantize_row_q8_K}. */
    @Test
    void q8_KEqualsTheCodecsQuantizeThenDequantize() {
        float[] x = rows(5, 2048);
        float[] y = rounded(ActivationQuantizer.Format.Q8_K, x);
        var codec = QuantType.Q8_K.codec();
        MemorySegment q = MemorySegment.ofArray(new byte[Math.toIntExact(codec.rowBytes(2048))]);
        codec.quantizeRow(x, 0, 2048, null, q, 0);
        float[] expected = new float[2048];
        codec.dequantizeRow(q, 0, expected, 0, 2048);
        for (int i = 0; i < 2048; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(y[i]), "element " + i);
        }
    }

    @Test
    void sixteenBitFormatsRoundToNearestEven() {
        float[] x = rows(6, 256);
        float[] h = rounded(ActivationQuantizer.Format.F16, x);
        float[] b = rounded(ActivationQuantizer.Format.BF16, x);
        for (int i = 0; i < 256; i++) {
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(x[i])), h[i]);
            assertEquals(HalfFloat.bf16ToFp32(HalfFloat.fp32ToBf16(x[i])), b[i]);
        }
    }

    /** {@code vec_dot_type} of each weight type (ggml-cpu.c {@code type_traits_cpu}). */
    @Test
    void formatPerWeightTypeIsLlamaCppsVecDotType() {
        assertEquals(ActivationQuantizer.Format.Q8_0, ActivationQuantizer.formatFor(GgmlType.Q4_0));
        assertEquals(ActivationQuantizer.Format.Q8_0, ActivationQuantizer.formatFor(GgmlType.Q5_0));
        assertEquals(ActivationQuantizer.Format.Q8_0, ActivationQuantizer.formatFor(GgmlType.Q8_0));
        assertEquals(ActivationQuantizer.Format.Q8_0, ActivationQuantizer.formatFor(GgmlType.IQ4_NL));
        assertEquals(ActivationQuantizer.Format.Q8_1, ActivationQuantizer.formatFor(GgmlType.Q4_1));
        assertEquals(ActivationQuantizer.Format.Q8_1, ActivationQuantizer.formatFor(GgmlType.Q5_1));
        for (GgmlType k : new GgmlType[] {GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
                GgmlType.IQ4_XS}) {
            assertEquals(ActivationQuantizer.Format.Q8_K, ActivationQuantizer.formatFor(k));
        }
        assertEquals(ActivationQuantizer.Format.F16, ActivationQuantizer.formatFor(GgmlType.F16));
        assertEquals(ActivationQuantizer.Format.BF16, ActivationQuantizer.formatFor(GgmlType.BF16));
        assertEquals(ActivationQuantizer.Format.F32, ActivationQuantizer.formatFor(GgmlType.F32));
        assertThrows(IllegalArgumentException.class, () -> ActivationQuantizer.Mode.parse("q4"));
        assertEquals(ActivationQuantizer.Mode.Q8, ActivationQuantizer.Mode.parse("Q8"));
    }

    /** {@code x} rounded through {@code format} (no Q8_1 corrections). */
    private static float[] rounded(ActivationQuantizer.Format format, float[] x) {
        return rounded(format, x, null);
    }

    private static float[] rounded(ActivationQuantizer.Format format, float[] x, float[] corrections) {
        float[] y = new float[x.length];
        ActivationQuantizer.round(format, x, 0, y, 0, x.length, corrections, 0);
        return y;
    }

    /** max |x| over block {@code b} of 32 values. */
    private static float blockAmax(float[] x, int b) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[32 * b + j]));
        }
        return amax;
    }
}
