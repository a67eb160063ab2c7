package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.quant.kquant.KQuantSearch;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static io.falconq.core.quant.GgmlRounding.nearestInt;

/**
 * GGML_TYPE_Q5_K, {@code block_q5_K}:
 * {@code ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128];}. As Q4_K with a fifth
 * bit: for chunk c, bit 2c of {@code qh[l]} belongs to element 64c + l and bit 2c+1 to element 64c + 32 + l.
 */
public final class Q5KCodec extends BlockCodec {
    public static final int QK_K = 256;
    public static final int D_OFFSET = 0;
    public static final int D_BYTES = 2;
    public static final int DMIN_OFFSET = D_OFFSET + D_BYTES;
    public static final int DMIN_BYTES = 2;
    public static final int SCALES_OFFSET = DMIN_OFFSET + DMIN_BYTES;
    public static final int SCALES_BYTES = 12;
    public static final int QH_OFFSET = SCALES_OFFSET + SCALES_BYTES;
    public static final int QH_BYTES = QK_K / 8;
    public static final int QS_OFFSET = QH_OFFSET + QH_BYTES;
    public static final int QS_BYTES = QK_K / 2;
    public static final int BLOCK_BYTES = QS_OFFSET + QS_BYTES;

    static final Q5KCodec INSTANCE = new Q5KCodec();

    private static final class Scratch {
        final byte[] block = new byte[BLOCK_BYTES];
        final byte[] L = new byte[QK_K];
        final byte[] Laux = new byte[32];
        final byte[] Ls = new byte[QK_K / 32];
        final byte[] Lm = new byte[QK_K / 32];
        final float[] weights = new float[32];
        final float[] sw = new float[QK_K / 32];
        final float[] mins = new float[QK_K / 32];
        final float[] scales = new float[QK_K / 32];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Q5KCodec() {
        super(GgmlType.Q5_K, WITH_IMATRIX, D_OFFSET, DMIN_OFFSET);
    }

    /** {@code quantize_row_q5_K_ref} without importance, {@code quantize_row_q5_K_impl} with it. */
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
        float maxScale = 0; // as we are deducting the min, scales are always positive
        float maxMin = 0;
        for (int j = 0; j < QK_K / 32; ++j) {
            float avX = (float) Math.sqrt(QuantWeights.sumOfSquares(x, xOff + 32 * j, 32) / 32);
            for (int l = 0; l < 32; ++l) {
                s.weights[l] = avX + Math.abs(x[xOff + 32 * j + l]);
            }
            s.scales[j] = KQuantSearch.makeQkx2Quants(32, 31, x, xOff + 32 * j, s.weights, 0, s.L, 32 * j, s.mins, j,
                    s.Laux, -0.5f, 0.1f, 15, false);
            float scale = s.scales[j];
            if (scale > maxScale) {
                maxScale = scale;
            }
            float min = s.mins[j];
            if (min > maxMin) {
                maxMin = min;
            }
        }

        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        for (int j = 0; j < QK_K / 32; ++j) {
            int ls = nearestInt(invScale * s.scales[j]) & 0xFF;
            int lm = nearestInt(invMin * s.mins[j]) & 0xFF;
            ls = Math.min(63, ls);
            lm = Math.min(63, lm);
            KScaleMin.put(y, SCALES_OFFSET, j, ls, lm);
        }
        LittleEndian.putHalf(y, D_OFFSET, maxScale / 63.f);
        LittleEndian.putHalf(y, DMIN_OFFSET, maxMin / 63.f);
        requantizeAndPack(x, xOff, s);
    }

    private static void quantizeBlockImpl(float[] x, int xOff, float[] quantWeights, int qwOff, Scratch s) {
        final byte[] y = s.block;
        float sigma2 = 2 * QuantWeights.sumOfSquares(x, xOff, QK_K) / QK_K;

        for (int j = 0; j < QK_K / 32; ++j) {
            s.sw[j] = QuantWeights.imatrix(s.weights, quantWeights, qwOff + 32 * j, x, xOff + 32 * j, sigma2, 32);
            s.scales[j] = KQuantSearch.makeQkx3Quants(32, 31, x, xOff + 32 * j, s.weights, 0, s.L, 32 * j, s.mins, j,
                    s.Laux, -0.9f, 0.05f, 36, false);
        }

        float dBlock = KQuantSearch.makeQpQuants(QK_K / 32, 63, s.scales, 0, s.Ls, 0, s.sw, 0);
        float mBlock = KQuantSearch.makeQpQuants(QK_K / 32, 63, s.mins, 0, s.Lm, 0, s.sw, 0);
        for (int j = 0; j < QK_K / 32; ++j) {
            int ls = Math.min(63, s.Ls[j] & 0xFF);
            int lm = Math.min(63, s.Lm[j] & 0xFF);
            KScaleMin.put(y, SCALES_OFFSET, j, ls, lm);
        }
        LittleEndian.putHalf(y, D_OFFSET, dBlock);
        LittleEndian.putHalf(y, DMIN_OFFSET, mBlock);
        requantizeAndPack(x, xOff, s);
    }

    /** Shared tail: requantize with the stored scales and mins, then split each 5-bit code into qs and qh. */
    private static void requantizeAndPack(float[] x, int xOff, Scratch s) {
        final byte[] y = s.block;
        final byte[] L = s.L;
        final float dAll = LittleEndian.getHalf(y, D_OFFSET);
        final float dminAll = LittleEndian.getHalf(y, DMIN_OFFSET);
        for (int j = 0; j < QK_K / 32; ++j) {
            final float d = dAll * KScaleMin.scale(y, SCALES_OFFSET, j);
            if (d == 0) {
                continue;
            }
            final float dm = dminAll * KScaleMin.min(y, SCALES_OFFSET, j);
            for (int ii = 0; ii < 32; ++ii) {
                int l = nearestInt((x[xOff + 32 * j + ii] + dm) / d);
                l = Math.max(0, Math.min(31, l));
                L[32 * j + ii] = (byte) l;
            }
        }

        Arrays.fill(y, QH_OFFSET, QH_OFFSET + QH_BYTES, (byte) 0);
        int ql = QS_OFFSET;
        int m1 = 1;
        int m2 = 2;
        for (int n = 0; n < QK_K; n += 64) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[n + j];
                if (l1 > 15) {
                    l1 -= 16;
                    y[QH_OFFSET + j] |= (byte) m1;
                }
                int l2 = L[n + j + 32];
                if (l2 > 15) {
                    l2 -= 16;
                    y[QH_OFFSET + j] |= (byte) m2;
                }
                y[ql + j] = (byte) (l1 | (l2 << 4));
            }
            m1 <<= 2;
            m2 <<= 2;
            ql += 32;
        }
    }

    /** {@code dequantize_row_q5_K}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = SCRATCH.get().block;
        int y = dstOff;
        for (int i = 0; i < n / QK_K; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = LittleEndian.getHalf(x, D_OFFSET);
            final float min = LittleEndian.getHalf(x, DMIN_OFFSET);
            int ql = QS_OFFSET;
            int is = 0;
            int u1 = 1;
            int u2 = 2;
            for (int j = 0; j < QK_K; j += 64) {
                final float d1 = d * KScaleMin.scale(x, SCALES_OFFSET, is);
                final float m1 = min * KScaleMin.min(x, SCALES_OFFSET, is);
                final float d2 = d * KScaleMin.scale(x, SCALES_OFFSET, is + 1);
                final float m2 = min * KScaleMin.min(x, SCALES_OFFSET, is + 1);
                for (int l = 0; l < 32; ++l) {
                    dst[y++] = d1 * ((x[ql + l] & 0xF) + ((x[QH_OFFSET + l] & u1) != 0 ? 16 : 0)) - m1;
                }
                for (int l = 0; l < 32; ++l) {
                    dst[y++] = d2 * (((x[ql + l] & 0xFF) >> 4) + ((x[QH_OFFSET + l] & u2) != 0 ? 16 : 0)) - m2;
                }
                ql += 32;
                is += 2;
                u1 <<= 2;
                u2 <<= 2;
            }
        }
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        VectorDequant.BlockScratch s = VectorDequant.BLOCK_SCRATCH.get();
        ByteVector zero = ByteVector.zero(VectorDequant.B16);
        float sum = 0;
        for (int i = 0; i < n / QK_K; i++) {
            long b = wOff + (long) i * BLOCK_BYTES;
            MemorySegment.copy(w, ValueLayout.JAVA_BYTE, b, s.header, 0, QH_OFFSET);
            final float d = LittleEndian.getHalf(s.header, D_OFFSET);
            final float min = LittleEndian.getHalf(s.header, DMIN_OFFSET);
            for (int j = 0; j < QK_K / 32; j++) {
                s.scale[j] = d * KScaleMin.scale(s.header, SCALES_OFFSET, j);
                s.bias[j] = -(min * KScaleMin.min(s.header, SCALES_OFFSET, j));
            }
            for (int c = 0; c < 4; c++) {
                byte u1 = (byte) (1 << (2 * c));
                byte u2 = (byte) (2 << (2 * c));
                for (int g = 0; g < 32; g += 16) {
                    ByteVector q = VectorDequant.load16(w, b + QS_OFFSET + 32 * c + g);
                    ByteVector qh = VectorDequant.load16(w, b + QH_OFFSET + g);
                    withHigh(q.and((byte) 0xF), qh, u1, zero).intoArray(s.codes, 64 * c + g);
                    withHigh(q.lanewise(VectorOperators.LSHR, 4), qh, u2, zero).intoArray(s.codes, 64 * c + 32 + g);
                }
            }
            sum += VectorDequant.dotCodes(s.codes, s.scale, s.bias, 32, QK_K, x, xOff + i * QK_K);
        }
        return sum;
    }

    /** Adds 16 to the lanes of {@code low4} whose bit {@code bit} is set in {@code qh}. */
    private static ByteVector withHigh(ByteVector low4, ByteVector qh, byte bit, ByteVector zero) {
        VectorMask<Byte> high = qh.and(bit).compare(VectorOperators.NE, zero);
        return low4.lanewise(VectorOperators.OR, (byte) 0x10, high);
    }

    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int b = 0; b < n / QK_K; b++) {
            decodeBlockVector(src, srcOff + (long) b * BLOCK_BYTES, dst, dstOff + b * QK_K);
        }
    }

    /** As Q4_K with a 5th bit from qh (bit 2c / 2c+1 of each byte). */
    private static void decodeBlockVector(MemorySegment w, long p, float[] dst, int y) {
        float d = VectorDequant.half(w, p + D_OFFSET);
        float min = VectorDequant.half(w, p + DMIN_OFFSET);
        long sc = p + SCALES_OFFSET;
        ByteVector h0 = VectorDequant.load16(w, p + QH_OFFSET);
        ByteVector h1 = VectorDequant.load16(w, p + QH_OFFSET + 16);
        for (int c = 0; c < 4; c++) {
            long q = p + QS_OFFSET + 32 * c;
            float d1 = d * KScaleMin.scale(w, sc, 2 * c);
            float m1 = min * KScaleMin.min(w, sc, 2 * c);
            float d2 = d * KScaleMin.scale(w, sc, 2 * c + 1);
            float m2 = min * KScaleMin.min(w, sc, 2 * c + 1);
            ByteVector a = VectorDequant.load16(w, q);
            ByteVector b = VectorDequant.load16(w, q + 16);
            VectorDequant.store16Sub(a.and((byte) 0x0F).or(bit4(h0, 2 * c)), d1, m1, dst, y);
            VectorDequant.store16Sub(b.and((byte) 0x0F).or(bit4(h1, 2 * c)), d1, m1, dst, y + 16);
            VectorDequant.store16Sub(a.lanewise(VectorOperators.LSHR, 4).or(bit4(h0, 2 * c + 1)), d2, m2, dst, y + 32);
            VectorDequant.store16Sub(b.lanewise(VectorOperators.LSHR, 4).or(bit4(h1, 2 * c + 1)), d2, m2, dst, y + 48);
            y += 64;
        }
    }

    /** Bit {@code bit} of each lane, moved to bit 4 (value 16). */
    private static ByteVector bit4(ByteVector h, int bit) {
        return h.lanewise(VectorOperators.LSHR, bit).and((byte) 1).lanewise(VectorOperators.LSHL, 4);
    }
}
