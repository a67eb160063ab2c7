package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.quant.kquant.KQuantSearch;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static io.falconq.core.quant.GgmlRounding.nearestInt;

/**
 * GGML_TYPE_Q3_K, {@code block_q3_K}: {@code uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; ggml_half d;}.
 * Sixteen sub-blocks of 16 with 6-bit scales (offset 32); x = d·(sc − 32)·(q − 4) with q ∈ 0..7, its low two bits
 * in the 2-bit planes (as Q2_K) and its third bit at bit e/32 of {@code hmask[e % 32]}.
 */
public final class Q3KCodec extends BlockCodec {
    public static final int QK_K = 256;
    public static final int HMASK_OFFSET = 0;
    public static final int HMASK_BYTES = QK_K / 8;
    public static final int QS_OFFSET = HMASK_OFFSET + HMASK_BYTES;
    public static final int QS_BYTES = QK_K / 4;
    public static final int SCALES_OFFSET = QS_OFFSET + QS_BYTES;
    public static final int SCALES_BYTES = 12;
    public static final int D_OFFSET = SCALES_OFFSET + SCALES_BYTES;
    public static final int D_BYTES = 2;
    public static final int BLOCK_BYTES = D_OFFSET + D_BYTES;

    static final Q3KCodec INSTANCE = new Q3KCodec();

    private static final class Scratch {
        final byte[] block = new byte[BLOCK_BYTES];
        final byte[] L = new byte[QK_K];
        final float[] scales = new float[QK_K / 16];
        final float[] weight = new float[16];
        final float[] sw = new float[QK_K / 16];
        final byte[] Ls = new byte[QK_K / 16];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Q3KCodec() {
        super(GgmlType.Q3_K, WITH_IMATRIX, D_OFFSET);
    }

    /** {@code quantize_row_q3_K_ref} without importance, {@code quantize_row_q3_K_impl} with it. */
    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        Scratch s = SCRATCH.get();
        for (int i = 0; i < n / QK_K; i++) {
            if (importance == null) {
                quantizeBlockRef(src, srcOff + i * QK_K, s);
            } else {
                quantizeBlockImpl(src, srcOff + i * QK_K, importance, i * QK_K, s);
            }
            MemorySegment.copy(s.block, 0, dst, ValueLayout.JAVA_BYTE, dstOff + (long) i * BLOCK_BYTES, BLOCK_BYTES);
        }
    }

    private static void quantizeBlockRef(float[] x, int xOff, Scratch s) {
        final byte[] y = s.block;
        float maxScale = 0;
        float amax = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            s.scales[j] = KQuantSearch.makeQ3Quants(16, 4, x, xOff + 16 * j, s.L, 16 * j, true);
            float scale = Math.abs(s.scales[j]);
            if (scale > amax) {
                amax = scale;
                maxScale = s.scales[j];
            }
        }

        Arrays.fill(y, SCALES_OFFSET, SCALES_OFFSET + SCALES_BYTES, (byte) 0);
        if (maxScale != 0) {
            float iscale = -32.f / maxScale;
            for (int j = 0; j < QK_K / 16; ++j) {
                byte l = (byte) nearestInt(iscale * s.scales[j]);
                l = (byte) (Math.max(-32, Math.min(31, l)) + 32);
                putScale(y, j, l);
            }
            LittleEndian.putHalf(y, D_OFFSET, 1 / iscale);
        } else {
            LittleEndian.putHalf(y, D_OFFSET, 0.f);
        }
        requantizeAndPack(x, xOff, s);
    }

    private static void quantizeBlockImpl(float[] x, int xOff, float[] quantWeights, int qwOff, Scratch s) {
        final byte[] y = s.block;
        float sigma2 = 2 * QuantWeights.sumOfSquares(x, xOff, QK_K) / QK_K;

        for (int j = 0; j < QK_K / 16; ++j) {
            s.sw[j] = QuantWeights.imatrix(s.weight, quantWeights, qwOff + 16 * j, x, xOff + 16 * j, sigma2, 16);
            s.scales[j] = KQuantSearch.makeQxQuants(16, 4, x, xOff + 16 * j, s.L, 16 * j, 1, s.weight, 0);
        }

        Arrays.fill(y, SCALES_OFFSET, SCALES_OFFSET + SCALES_BYTES, (byte) 0);
        float dBlock = KQuantSearch.makeQxQuants(QK_K / 16, 32, s.scales, 0, s.Ls, 0, 1, s.sw, 0);
        for (int j = 0; j < QK_K / 16; ++j) {
            putScale(y, j, s.Ls[j]);
        }
        LittleEndian.putHalf(y, D_OFFSET, dBlock);
        requantizeAndPack(x, xOff, s);
    }

    /** Packs the 6-bit code {@code l} of sub-block j: low nibble in bytes 0..7, top two bits in bytes 8..11. */
    private static void putScale(byte[] y, int j, int l) {
        if (j < 8) {
            y[SCALES_OFFSET + j] = (byte) (l & 0xF);
        } else {
            y[SCALES_OFFSET + j - 8] |= (byte) ((l & 0xF) << 4);
        }
        l >>= 4;
        y[SCALES_OFFSET + j % 4 + 8] |= (byte) (l << (2 * (j / 4)));
    }

    /** The 6-bit scale code of sub-block j (0..63); same bits as {@code dequantize_row_q3_K}'s kmask shuffle. */
    private static int scaleCode(byte[] y, int j) {
        int lo = j < 8 ? y[SCALES_OFFSET + j] & 0xF : (y[SCALES_OFFSET + j - 8] & 0xFF) >> 4;
        return lo | (((y[SCALES_OFFSET + 8 + j % 4] & 0xFF) >> (2 * (j / 4))) & 3) << 4;
    }

    /** Shared tail: requantize with the stored scales, split off the high bit into hmask, pack the 2-bit planes. */
    private static void requantizeAndPack(float[] x, int xOff, Scratch s) {
        final byte[] y = s.block;
        final byte[] L = s.L;
        final float dAll = LittleEndian.getHalf(y, D_OFFSET);
        for (int j = 0; j < QK_K / 16; ++j) {
            byte sc = (byte) (scaleCode(y, j) - 32);
            float d = dAll * sc;
            if (d == 0) {
                continue;
            }
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[xOff + 16 * j + ii] / d);
                l = Math.max(-4, Math.min(3, l));
                L[16 * j + ii] = (byte) (l + 4);
            }
        }

        Arrays.fill(y, HMASK_OFFSET, HMASK_OFFSET + HMASK_BYTES, (byte) 0);
        // high bit of the first 32 codes into bit 0, of the next 32 into bit 1, and so on
        int m = 0;
        int hm = 1;
        for (int j = 0; j < QK_K; ++j) {
            if (L[j] > 3) {
                y[HMASK_OFFSET + m] |= (byte) hm;
                L[j] -= 4;
            }
            if (++m == QK_K / 8) {
                m = 0;
                hm <<= 1;
            }
        }
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                y[QS_OFFSET + j / 4 + l] = (byte) (L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4)
                        | (L[j + l + 96] << 6));
            }
        }
    }

    /** {@code dequantize_row_q3_K}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = SCRATCH.get().block;
        int y = dstOff;
        for (int i = 0; i < n / QK_K; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float dAll = LittleEndian.getHalf(x, D_OFFSET);
            int q = QS_OFFSET;
            int m = 1;
            int is = 0;
            for (int n128 = 0; n128 < QK_K; n128 += 128) {
                int shift = 0;
                for (int j = 0; j < 4; ++j) {
                    float dl = dAll * (scaleCode(x, is++) - 32);
                    for (int l = 0; l < 16; ++l) {
                        int q3 = (((x[q + l] & 0xFF) >> shift) & 3) - ((x[HMASK_OFFSET + l] & m) != 0 ? 0 : 4);
                        dst[y++] = dl * q3;
                    }
                    dl = dAll * (scaleCode(x, is++) - 32);
                    for (int l = 0; l < 16; ++l) {
                        int q3 = (((x[q + l + 16] & 0xFF) >> shift) & 3)
                                - ((x[HMASK_OFFSET + l + 16] & m) != 0 ? 0 : 4);
                        dst[y++] = dl * q3;
                    }
                    shift += 2;
                    m <<= 1;
                }
                q += 32;
            }
        }
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        byte[] scales = SCRATCH.get().block;
        FloatVector acc = VectorDequant.zero();
        ByteVector zero = ByteVector.zero(VectorDequant.B16);
        for (int i = 0; i < n / QK_K; i++) {
            long b = wOff + (long) i * BLOCK_BYTES;
            MemorySegment.copy(w, ValueLayout.JAVA_BYTE, b + SCALES_OFFSET, scales, SCALES_OFFSET, SCALES_BYTES);
            final float dAll = HalfFloat.fp16ToFp32(w.get(LittleEndian.SHORT, b + D_OFFSET));
            ByteVector hm0 = VectorDequant.load16(w, b + HMASK_OFFSET);
            ByteVector hm1 = VectorDequant.load16(w, b + HMASK_OFFSET + 16);
            int xi = xOff + i * QK_K;
            int is = 0;
            int m = 1;
            for (int half = 0; half < 2; half++) {
                ByteVector q0 = VectorDequant.load16(w, b + QS_OFFSET + 32 * half);
                ByteVector q1 = VectorDequant.load16(w, b + QS_OFFSET + 32 * half + 16);
                for (int shift = 0; shift < 8; shift += 2) {
                    VectorMask<Byte> noHigh0 = hm0.and((byte) m).compare(VectorOperators.EQ, zero);
                    VectorMask<Byte> noHigh1 = hm1.and((byte) m).compare(VectorOperators.EQ, zero);
                    ByteVector v0 = q0.lanewise(VectorOperators.LSHR, shift).and((byte) 3)
                            .lanewise(VectorOperators.SUB, (byte) 4, noHigh0);
                    ByteVector v1 = q1.lanewise(VectorOperators.LSHR, shift).and((byte) 3)
                            .lanewise(VectorOperators.SUB, (byte) 4, noHigh1);
                    acc = VectorDequant.fma16(v0, dAll * (scaleCode(scales, is++) - 32), x, xi, acc);
                    acc = VectorDequant.fma16(v1, dAll * (scaleCode(scales, is++) - 32), x, xi + 16, acc);
                    xi += 32;
                    m <<= 1;
                }
            }
        }
        return VectorDequant.sum(acc);
    }

    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int b = 0; b < n / QK_K; b++) {
            decodeBlockVector(src, srcOff + (long) b * BLOCK_BYTES, dst, dstOff + b * QK_K);
        }
    }

    /** x = d·(scale − 32)·(q − 4), a set hmask bit meaning "no −4". */
    private static void decodeBlockVector(MemorySegment w, long p, float[] dst, int y) {
        float dAll = VectorDequant.half(w, p + D_OFFSET);
        ByteVector h0 = VectorDequant.load16(w, p + HMASK_OFFSET);
        ByteVector h1 = VectorDequant.load16(w, p + HMASK_OFFSET + 16);
        int is = 0;
        int bit = 0;
        for (int half = 0; half < 2; half++) {
            long q = p + QS_OFFSET + 32 * half;
            ByteVector q0 = VectorDequant.load16(w, q);
            ByteVector q1 = VectorDequant.load16(w, q + 16);
            for (int j = 0; j < 4; j++) {
                int shift = 2 * j;
                float dl = dAll * (scaleCode(w, p + SCALES_OFFSET, is++) - 32);
                VectorDequant.store16(codes(q0, h0, shift, bit), dl, dst, y);
                dl = dAll * (scaleCode(w, p + SCALES_OFFSET, is++) - 32);
                VectorDequant.store16(codes(q1, h1, shift, bit), dl, dst, y + 16);
                y += 32;
                bit++;
            }
        }
    }

    private static ByteVector codes(ByteVector qs, ByteVector hmask, int shift, int bit) {
        ByteVector low = qs.lanewise(VectorOperators.LSHR, shift).and((byte) 3);
        ByteVector high = hmask.lanewise(VectorOperators.LSHR, bit).and((byte) 1).lanewise(VectorOperators.LSHL, 2);
        return low.add(high).sub((byte) 4);
    }

    /** The 6-bit scale code of sub-block j (0..15), as {@code dequantize_row_q3_K}'s kmask shuffle. */
    private static int scaleCode(MemorySegment w, long sc, int j) {
        int lo = j < 8 ? VectorDequant.byteAt(w, sc + j) & 0xF : VectorDequant.byteAt(w, sc + j - 8) >> 4;
        return lo | ((VectorDequant.byteAt(w, sc + 8 + j % 4) >> (2 * (j / 4))) & 3) << 4;
    }
}
