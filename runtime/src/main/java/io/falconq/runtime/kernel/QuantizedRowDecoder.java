package io.falconq.runtime.kernel;

import io.falconq.quant.QuantType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Vector API decoding of ggml blocks to float32, bit for bit the values of the codec's scalar
 * {@link io.falconq.quant.BlockCodec#dequantizeRow} (which ports {@code dequantize_row_*} of ggml-quants.c).
 *
 * <p>Each block's small integer codes are first assembled in 16-lane byte vectors (nibbles, high bits, 2-bit
 * planes, codebook look-ups), then widened to floats and scaled with exactly the float operations of the scalar
 * code, in the same order: {@code q·d} or {@code q·d + m} with a separate multiply and add (ggml-base is compiled
 * without FMA contraction, and so is every expression here), so the two paths agree on every bit, signed zeros
 * included. One body per type, written against {@link KernelMode#FLOATS}: 4, 8 or 16 float lanes.
 *
 * <p>Used to fill the panels of {@link QuantMatMul}; {@code QuantRowDecoderTest} checks it against the scalar
 * codecs on seeded and edge blocks, and {@code QuantDecodeGgmlIT} against ggml's own decode of llama.cpp's files.
 */
public final class QuantizedRowDecoder {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final int L = F.length();
    /** Float vectors per 16 codes. */
    private static final int PARTS = Math.max(1, 16 / L);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** {@code kvalues_iq4nl} (ggml-common.h): the IQ4_NL / IQ4_XS codebook. */
    private static final byte[] IQ4NL_VALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    private static final ByteVector IQ4NL_TABLE = ByteVector.fromArray(B16, IQ4NL_VALUES, 0);
    /** Lane i ← byte i/8 (and 2 + i/8): spreads two bytes of a Q5 {@code qh} word over 16 lanes. */
    private static final VectorShuffle<Byte> QH_LOW = VectorShuffle.fromOp(B16, i -> i / 8);
    private static final VectorShuffle<Byte> QH_HIGH = VectorShuffle.fromOp(B16, i -> 2 + i / 8);
    /** Lane i: shift i % 8, so lane i of a spread {@code qh} holds bit i % 8 of its byte in bit 0. */
    private static final ByteVector BIT_SHIFTS = ByteVector.fromArray(B16,
            new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7}, 0);

    private QuantizedRowDecoder() {
    }

    /** Whether {@link #decode} has a vector path for this type (every stored weight type falconq reads). */
    public static boolean supports(QuantType type) {
        return type != QuantType.Q8_K && L >= 4 && L <= 16;
    }

    /**
     * Decodes {@code n} elements (a multiple of the block size) of the row at byte {@code off} of {@code w} into
     * {@code dst[dstOff ..]}, the same floats as {@code type.codec().dequantizeRow(w, off, dst, dstOff, n)}.
     */
    public static void decode(QuantType type, MemorySegment w, long off, float[] dst, int dstOff, int n) {
        int bs = type.ggmlType().blockSize();
        if (n % bs != 0 || dstOff < 0 || dstOff + n > dst.length) {
            throw new IllegalArgumentException(type + ": cannot decode " + n + " elements into [" + dstOff + ", "
                    + (dstOff + n) + ") of " + dst.length);
        }
        int ts = type.ggmlType().typeSize();
        int blocks = n / bs;
        switch (type) {
            case F32 -> {
                int k = 0;
                for (; k <= n - L; k += L) {
                    FloatVector.fromMemorySegment(F, w, off + 4L * k, ByteOrder.LITTLE_ENDIAN).intoArray(dst, dstOff + k);
                }
                for (; k < n; k++) {
                    dst[dstOff + k] = w.get(F32, off + 4L * k);
                }
            }
            // Float.float16ToFloat is a JIT intrinsic (vcvtph2ps) and C2 vectorises this loop
            case F16 -> {
                for (int k = 0; k < n; k++) {
                    dst[dstOff + k] = Float.float16ToFloat(w.get(I16, off + 2L * k));
                }
            }
            case BF16 -> {
                for (int k = 0; k < n; k++) {
                    dst[dstOff + k] = Float.intBitsToFloat((w.get(I16, off + 2L * k) & 0xFFFF) << 16);
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < blocks; b++) {
                    long p = off + (long) b * ts;
                    float d = half(w, p);
                    int y = dstOff + b * 32;
                    scale(load16(w, p + 2), d, dst, y);
                    scale(load16(w, p + 18), d, dst, y + 16);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < blocks; b++) {
                    long p = off + (long) b * ts;
                    float d = half(w, p);
                    ByteVector qs = load16(w, p + 2);
                    int y = dstOff + b * 32;
                    scale(qs.and((byte) 0x0F).sub((byte) 8), d, dst, y);
                    scale(qs.lanewise(VectorOperators.LSHR, 4).sub((byte) 8), d, dst, y + 16);
                }
            }
            case Q4_1 -> {
                for (int b = 0; b < blocks; b++) {
                    long p = off + (long) b * ts;
                    float d = half(w, p);
                    float m = half(w, p + 2);
                    ByteVector qs = load16(w, p + 4);
                    int y = dstOff + b * 32;
                    scaleAdd(qs.and((byte) 0x0F), d, m, dst, y);
                    scaleAdd(qs.lanewise(VectorOperators.LSHR, 4), d, m, dst, y + 16);
                }
            }
            case Q5_0 -> {
                for (int b = 0; b < blocks; b++) {
                    long p = off + (long) b * ts;
                    float d = half(w, p);
                    ByteVector qhBytes = load16(w, p + 2);
                    ByteVector qs = load16(w, p + 6);
                    int y = dstOff + b * 32;
                    scale(qs.and((byte) 0x0F).or(highBits(qhBytes, QH_LOW)).sub((byte) 16), d, dst, y);
                    scale(qs.lanewise(VectorOperators.LSHR, 4).or(highBits(qhBytes, QH_HIGH)).sub((byte) 16), d, dst,
                            y + 16);
                }
            }
            case Q5_1 -> {
                for (int b = 0; b < blocks; b++) {
                    long p = off + (long) b * ts;
                    float d = half(w, p);
                    float m = half(w, p + 2);
                    ByteVector qhBytes = load16(w, p + 4);
                    ByteVector qs = load16(w, p + 8);
                    int y = dstOff + b * 32;
                    scaleAdd(qs.and((byte) 0x0F).or(highBits(qhBytes, QH_LOW)), d, m, dst, y);
                    scaleAdd(qs.lanewise(VectorOperators.LSHR, 4).or(highBits(qhBytes, QH_HIGH)), d, m, dst, y + 16);
                }
            }
            case IQ4_NL -> {
                for (int b = 0; b < blocks; b++) {
                    long p = off + (long) b * ts;
                    float d = half(w, p);
                    ByteVector qs = load16(w, p + 2);
                    int y = dstOff + b * 32;
                    scaleLeft(qs.and((byte) 0x0F).selectFrom(IQ4NL_TABLE), d, dst, y);
                    scaleLeft(qs.lanewise(VectorOperators.LSHR, 4).selectFrom(IQ4NL_TABLE), d, dst, y + 16);
                }
            }
            case Q2_K -> {
                for (int b = 0; b < blocks; b++) {
                    decodeQ2K(w, off + (long) b * ts, dst, dstOff + b * 256);
                }
            }
            case Q3_K -> {
                for (int b = 0; b < blocks; b++) {
                    decodeQ3K(w, off + (long) b * ts, dst, dstOff + b * 256);
                }
            }
            case Q4_K -> {
                for (int b = 0; b < blocks; b++) {
                    decodeQ4K(w, off + (long) b * ts, dst, dstOff + b * 256);
                }
            }
            case Q5_K -> {
                for (int b = 0; b < blocks; b++) {
                    decodeQ5K(w, off + (long) b * ts, dst, dstOff + b * 256);
                }
            }
            case Q6_K -> {
                for (int b = 0; b < blocks; b++) {
                    decodeQ6K(w, off + (long) b * ts, dst, dstOff + b * 256);
                }
            }
            case IQ4_XS -> {
                for (int b = 0; b < blocks; b++) {
                    decodeIq4Xs(w, off + (long) b * ts, dst, dstOff + b * 256);
                }
            }
            case Q8_K -> throw new IllegalArgumentException("Q8_K is an activation format, not a weight type");
        }
    }

    // ---- K-quants (super-blocks of 256) -------------------------------------------------------------------

    /** block_q2_K: scales[16], qs[64], d, dmin; x = d·(sc & 15)·q − dmin·(sc >> 4) per 16 elements. */
    private static void decodeQ2K(MemorySegment w, long p, float[] dst, int y) {
        float d = half(w, p + 80);
        float min = half(w, p + 82);
        int is = 0;
        for (int half = 0; half < 2; half++) {
            long q = p + 16 + 32 * half;
            ByteVector q0 = load16(w, q);
            ByteVector q1 = load16(w, q + 16);
            for (int j = 0; j < 4; j++) {
                int shift = 2 * j;
                int sc = w.get(ValueLayout.JAVA_BYTE, p + is++) & 0xFF;
                scaleSub(q0.lanewise(VectorOperators.LSHR, shift).and((byte) 3), d * (sc & 0xF), min * (sc >> 4), dst, y);
                sc = w.get(ValueLayout.JAVA_BYTE, p + is++) & 0xFF;
                scaleSub(q1.lanewise(VectorOperators.LSHR, shift).and((byte) 3), d * (sc & 0xF), min * (sc >> 4), dst,
                        y + 16);
                y += 32;
            }
        }
    }

    /** block_q3_K: hmask[32], qs[64], scales[12], d; x = d·(scale − 32)·(q − 4), high bit set meaning "no −4". */
    private static void decodeQ3K(MemorySegment w, long p, float[] dst, int y) {
        float dAll = half(w, p + 108);
        ByteVector h0 = load16(w, p);
        ByteVector h1 = load16(w, p + 16);
        int is = 0;
        int bit = 0;
        for (int half = 0; half < 2; half++) {
            long q = p + 32 + 32 * half;
            ByteVector q0 = load16(w, q);
            ByteVector q1 = load16(w, q + 16);
            for (int j = 0; j < 4; j++) {
                int shift = 2 * j;
                float dl = dAll * (q3Scale(w, p + 96, is++) - 32);
                scale(q3Codes(q0, h0, shift, bit), dl, dst, y);
                dl = dAll * (q3Scale(w, p + 96, is++) - 32);
                scale(q3Codes(q1, h1, shift, bit), dl, dst, y + 16);
                y += 32;
                bit++;
            }
        }
    }

    private static ByteVector q3Codes(ByteVector qs, ByteVector hmask, int shift, int bit) {
        ByteVector low = qs.lanewise(VectorOperators.LSHR, shift).and((byte) 3);
        ByteVector high = hmask.lanewise(VectorOperators.LSHR, bit).and((byte) 1).lanewise(VectorOperators.LSHL, 2);
        return low.add(high).sub((byte) 4);
    }

    /** The 6-bit scale code of Q3_K sub-block j (0..63), as {@code dequantize_row_q3_K}'s kmask shuffle. */
    private static int q3Scale(MemorySegment w, long sc, int j) {
        int lo = j < 8 ? byteAt(w, sc + j) & 0xF : byteAt(w, sc + j - 8) >> 4;
        return lo | ((byteAt(w, sc + 8 + j % 4) >> (2 * (j / 4))) & 3) << 4;
    }

    /** block_q4_K: d, dmin, scales[12], qs[128]; x = d·ls·q − dmin·lm per 32 elements. */
    private static void decodeQ4K(MemorySegment w, long p, float[] dst, int y) {
        float d = half(w, p);
        float min = half(w, p + 2);
        long sc = p + 4;
        for (int c = 0; c < 4; c++) {
            long q = p + 16 + 32 * c;
            float d1 = d * kScale(w, sc, 2 * c);
            float m1 = min * kMin(w, sc, 2 * c);
            float d2 = d * kScale(w, sc, 2 * c + 1);
            float m2 = min * kMin(w, sc, 2 * c + 1);
            ByteVector a = load16(w, q);
            ByteVector b = load16(w, q + 16);
            scaleSub(a.and((byte) 0x0F), d1, m1, dst, y);
            scaleSub(b.and((byte) 0x0F), d1, m1, dst, y + 16);
            scaleSub(a.lanewise(VectorOperators.LSHR, 4), d2, m2, dst, y + 32);
            scaleSub(b.lanewise(VectorOperators.LSHR, 4), d2, m2, dst, y + 48);
            y += 64;
        }
    }

    /** block_q5_K: d, dmin, scales[12], qh[32], qs[128]; as Q4_K with a 5th bit from qh (bit 2c / 2c+1). */
    private static void decodeQ5K(MemorySegment w, long p, float[] dst, int y) {
        float d = half(w, p);
        float min = half(w, p + 2);
        long sc = p + 4;
        ByteVector h0 = load16(w, p + 16);
        ByteVector h1 = load16(w, p + 32);
        for (int c = 0; c < 4; c++) {
            long q = p + 48 + 32 * c;
            float d1 = d * kScale(w, sc, 2 * c);
            float m1 = min * kMin(w, sc, 2 * c);
            float d2 = d * kScale(w, sc, 2 * c + 1);
            float m2 = min * kMin(w, sc, 2 * c + 1);
            ByteVector a = load16(w, q);
            ByteVector b = load16(w, q + 16);
            scaleSub(a.and((byte) 0x0F).or(bit4(h0, 2 * c)), d1, m1, dst, y);
            scaleSub(b.and((byte) 0x0F).or(bit4(h1, 2 * c)), d1, m1, dst, y + 16);
            scaleSub(a.lanewise(VectorOperators.LSHR, 4).or(bit4(h0, 2 * c + 1)), d2, m2, dst, y + 32);
            scaleSub(b.lanewise(VectorOperators.LSHR, 4).or(bit4(h1, 2 * c + 1)), d2, m2, dst, y + 48);
            y += 64;
        }
    }

    /** Bit {@code bit} of each lane, moved to bit 4 (value 16). */
    private static ByteVector bit4(ByteVector h, int bit) {
        return h.lanewise(VectorOperators.LSHR, bit).and((byte) 1).lanewise(VectorOperators.LSHL, 4);
    }

    /** block_q6_K: ql[128], qh[64], scales[16] int8, d; x = d·sc·(q − 32) per 16 elements. */
    private static void decodeQ6K(MemorySegment w, long p, float[] dst, int y) {
        float d = half(w, p + 208);
        for (int half = 0; half < 2; half++) {
            long ql = p + 64 * half;
            long qh = p + 128 + 32 * half;
            long sc = p + 192 + 8 * half;
            for (int g = 0; g < 32; g += 16) {
                int is = g / 16;
                ByteVector lA = load16(w, ql + g);
                ByteVector lB = load16(w, ql + 32 + g);
                ByteVector h = load16(w, qh + g);
                // scalar: d * sc * q, evaluated (d * sc) * q
                scale(lA.and((byte) 0x0F).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32),
                        d * w.get(ValueLayout.JAVA_BYTE, sc + is), dst, y + g);
                scale(lB.and((byte) 0x0F).or(h.and((byte) 0x0C).lanewise(VectorOperators.LSHL, 2)).sub((byte) 32),
                        d * w.get(ValueLayout.JAVA_BYTE, sc + is + 2), dst, y + g + 32);
                scale(lA.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 0x30)).sub((byte) 32),
                        d * w.get(ValueLayout.JAVA_BYTE, sc + is + 4), dst, y + g + 64);
                scale(lB.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 2).and((byte) 0x30))
                        .sub((byte) 32), d * w.get(ValueLayout.JAVA_BYTE, sc + is + 6), dst, y + g + 96);
            }
            y += 128;
        }
    }

    /** block_iq4_xs: d, scales_h, scales_l[4], qs[128]; x = d·(scale − 32)·T[q] per 32 elements. */
    private static void decodeIq4Xs(MemorySegment w, long p, float[] dst, int y) {
        float d = half(w, p);
        int scalesH = w.get(I16, p + 2) & 0xFFFF;
        for (int ib = 0; ib < 8; ib++) {
            int ls = ((byteAt(w, p + 4 + ib / 2) >> 4 * (ib % 2)) & 0xF) | (((scalesH >> 2 * ib) & 3) << 4);
            float dl = d * (ls - 32);
            ByteVector qs = load16(w, p + 8 + 16 * ib);
            scaleLeft(qs.and((byte) 0x0F).selectFrom(IQ4NL_TABLE), dl, dst, y);
            scaleLeft(qs.lanewise(VectorOperators.LSHR, 4).selectFrom(IQ4NL_TABLE), dl, dst, y + 16);
            y += 32;
        }
    }

    /** {@code get_scale_min_k4}: 6-bit scale of sub-block j of a Q4_K/Q5_K 12-byte scale field. */
    private static int kScale(MemorySegment w, long sc, int j) {
        return j < 4 ? byteAt(w, sc + j) & 63 : (byteAt(w, sc + j + 4) & 0xF) | ((byteAt(w, sc + j - 4) >> 6) << 4);
    }

    /** {@code get_scale_min_k4}: 6-bit min of sub-block j. */
    private static int kMin(MemorySegment w, long sc, int j) {
        return j < 4 ? byteAt(w, sc + j + 4) & 63 : (byteAt(w, sc + j + 4) >> 4) | ((byteAt(w, sc + j) >> 6) << 4);
    }

    // ---- building blocks ----------------------------------------------------------------------------------

    private static int byteAt(MemorySegment w, long off) {
        return w.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    private static float half(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(I16, off));
    }

    private static ByteVector load16(MemorySegment w, long off) {
        return ByteVector.fromMemorySegment(B16, w, off, ByteOrder.LITTLE_ENDIAN);
    }

    /** The 5th bits of 16 elements: bit j of the u32 {@code qh} (first 4 bytes of the vector) at bit 4 of lane j. */
    private static ByteVector highBits(ByteVector qhBytes, VectorShuffle<Byte> spread) {
        return qhBytes.rearrange(spread).lanewise(VectorOperators.LSHR, BIT_SHIFTS).and((byte) 1)
                .lanewise(VectorOperators.LSHL, 4);
    }

    /** dst[y + i] = q_i · s (int code times float scale, the C expression {@code q*d}). */
    private static void scale(ByteVector q, float s, float[] dst, int y) {
        for (int p = 0; p < PARTS; p++) {
            ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(s).intoArray(dst, y + p * L);
        }
    }

    /** dst[y + i] = s · q_i (same value as {@link #scale}: IEEE multiplication commutes). */
    private static void scaleLeft(ByteVector q, float s, float[] dst, int y) {
        scale(q, s, dst, y);
    }

    /** dst[y + i] = q_i · s + m (multiply, then add: no fused rounding). */
    private static void scaleAdd(ByteVector q, float s, float m, float[] dst, int y) {
        for (int p = 0; p < PARTS; p++) {
            ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(s).add(m).intoArray(dst, y + p * L);
        }
    }

    /** dst[y + i] = s · q_i − m. */
    private static void scaleSub(ByteVector q, float s, float m, float[] dst, int y) {
        for (int p = 0; p < PARTS; p++) {
            ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(s).sub(m).intoArray(dst, y + p * L);
        }
    }
}
