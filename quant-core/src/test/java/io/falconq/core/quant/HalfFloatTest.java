package io.falconq.core.quant;

import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fp16/bf16 conversions. The production fp32→fp16 path (JDK {@link Float#floatToFloat16} plus ggml's NaN rule) is
 * checked against the literal port of {@code ggml_compute_fp32_to_fp16} on every float whose rounding is delicate
 * (each half, the midpoints between neighbouring halves and their float neighbours, the subnormal and overflow
 * ranges) plus a stride through all 2³² bit patterns. (A full 2³² sweep also agrees, and agrees with libggml's own
 * {@code ggml_fp32_to_fp16}; it takes ~12 s, too long for every build.) bf16 is checked against an independent
 * round-to-nearest-even computed in double.
 */
class HalfFloatTest {
    private static void assertFp16(float f) {
        short expected = HalfFloat.ggmlFp32ToFp16Reference(f);
        assertEquals(expected, HalfFloat.fp32ToFp16(f),
                () -> "fp32ToFp16(" + f + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + ")");
    }

    @Test
    void fp32ToFp16MatchesGgmlOnEveryRoundingBoundary() {
        for (int h = 0; h < 0x7C00; h++) { // every finite positive half and the gap to its successor
            float lo = Float.float16ToFloat((short) h);
            float hi = Float.float16ToFloat((short) (h + 1));
            float mid = (lo + hi) / 2; // exact: halves have 11 significant bits
            for (float f : new float[]{lo, hi, mid, Math.nextUp(mid), Math.nextDown(mid), Math.nextUp(lo),
                    Math.nextDown(hi)}) {
                assertFp16(f);
                assertFp16(-f);
            }
        }
        for (float f : new float[]{65504f, 65519.996f, 65520f, 1e5f, Float.MAX_VALUE, Float.POSITIVE_INFINITY,
                Float.MIN_VALUE, 1e-8f, 2.98e-8f, 2.99e-8f, 0f, -0f}) {
            assertFp16(f);
            assertFp16(-f);
        }
    }

    @Test
    void fp32ToFp16MatchesGgmlOnAStrideThroughAllFloats() {
        long bits = 0;
        while (bits <= 0xFFFF_FFFFL) {
            assertFp16(Float.intBitsToFloat((int) bits));
            bits += 4099; // prime stride: ~1M patterns, all exponents, both signs, NaN payloads
        }
    }

    @Test
    void nanBecomesGgmlsCanonicalQuietNan() {
        for (int payload : new int[]{1, 0x2000, 0x400000, 0x7FFFFF, 0x12345}) {
            float nan = Float.intBitsToFloat(0x7F800000 | payload);
            float negNan = Float.intBitsToFloat(0xFF800000 | payload);
            assertEquals((short) 0x7E00, HalfFloat.fp32ToFp16(nan));
            assertEquals((short) 0xFE00, HalfFloat.fp32ToFp16(negNan));
            assertFp16(nan);
            assertFp16(negNan);
        }
    }

    @Test
    void fp16ToFp32IsExactForEveryHalf() {
        for (int h = 0; h < 65536; h++) {
            float jdk = Float.float16ToFloat((short) h);
            float ours = HalfFloat.fp16ToFp32((short) h);
            if (Float.isNaN(jdk)) {
                assertTrue(Float.isNaN(ours), "NaN half 0x" + Integer.toHexString(h));
            } else {
                assertEquals(Float.floatToRawIntBits(jdk), Float.floatToRawIntBits(ours), "half 0x" + Integer.toHexString(h));
            }
        }
    }

    @Test
    void vectorFp16DecodeEqualsTheScalarTableForEveryHalf() {
        int lanes = VectorDequant.LANES;
        VectorSpecies<Short> s = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, lanes * 16)));
        short[] all = new short[65536];
        for (int h = 0; h < all.length; h++) {
            all[h] = (short) h;
        }
        float[] out = new float[lanes];
        for (int h = 0; h < all.length; h += lanes) {
            HalfRows.fp16ToFloats(ShortVector.fromArray(s, all, h)).intoArray(out, 0);
            for (int k = 0; k < lanes; k++) {
                assertEquals(Float.floatToRawIntBits(HalfFloat.fp16ToFp32(all[h + k])), Float.floatToRawIntBits(out[k]),
                        "half 0x" + Integer.toHexString(h + k));
            }
        }
    }

    /** Independent oracle: the nearer of the two bf16 neighbours, ties to the even one, compared in double. */
    private static short bf16Oracle(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isInfinite(f)) {
            return (short) (bits >>> 16);
        }
        int down = bits >>> 16;
        int up = down + 1;
        double lo = Float.intBitsToFloat(down << 16);
        // past the largest bf16 the next value up is 2^128 (rounds to infinity)
        double hi = ((up << 16) & 0x7FFFFFFF) == 0x7F800000 ? Math.copySign(0x1p128, f) : Float.intBitsToFloat(up << 16);
        double dLo = Math.abs(f - lo);
        double dHi = Math.abs(hi - f);
        if (dLo < dHi) {
            return (short) down;
        }
        if (dHi < dLo) {
            return (short) up;
        }
        return (short) ((down & 1) == 0 ? down : up);
    }

    @Test
    void fp32ToBf16RoundsToNearestEvenAndQuietsNan() {
        long bits = 0;
        while (bits <= 0xFFFF_FFFFL) {
            float f = Float.intBitsToFloat((int) bits);
            short b = HalfFloat.fp32ToBf16(f);
            if (Float.isNaN(f)) {
                assertEquals((short) (((int) bits >>> 16) | 0x40), b, "NaN 0x" + Long.toHexString(bits));
            } else {
                assertEquals(bf16Oracle(f), b, "bf16(" + f + " = 0x" + Long.toHexString(bits) + ")");
            }
            bits += (bits & 0xFFFF) == 0x8000 ? 1 : 3001; // visit exact ties now and then
        }
        assertEquals((short) 0x3F80, HalfFloat.fp32ToBf16(1f));
        assertEquals((short) 0x3F80, HalfFloat.fp32ToBf16(Float.intBitsToFloat(0x3F808000))); // tie to even (down)
        assertEquals((short) 0x3F82, HalfFloat.fp32ToBf16(Float.intBitsToFloat(0x3F818000))); // tie to even (up)
        assertEquals(1f, HalfFloat.bf16ToFp32((short) 0x3F80));
    }
}
