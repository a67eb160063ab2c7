package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.quant.kquant.KQuantSearch;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static io.falconq.core.quant.GgmlRounding.nearestInt;

/**
 * GGML_TYPE_Q6_K, {@code block_q6_K}: {@code uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d;}.
 * Sixteen sub-blocks of 16 with int8 scales; x = d·sc·(q − 32), q ∈ 0..63 split into low 4 bits (ql) and high 2
 * bits (qh). Per 128-element half with ql offset 64 and qh offset 32: {@code ql[l]} = e[l] | e[l+64] << 4,
 * {@code ql[l+32]} = e[l+32] | e[l+96] << 4, {@code qh[l]} = high bits of e[l], e[l+32], e[l+64], e[l+96].
 */
public final class Q6KCodec extends BlockCodec {
    public static final int QK_K = 256;
    public static final int QL_OFFSET = 0;
    public static final int QL_BYTES = QK_K / 2;
    public static final int QH_OFFSET = QL_OFFSET + QL_BYTES;
    public static final int QH_BYTES = QK_K / 4;
    public static final int SCALES_OFFSET = QH_OFFSET + QH_BYTES;
    public static final int SCALES_BYTES = QK_K / 16;
    public static final int D_OFFSET = SCALES_OFFSET + SCALES_BYTES;
    public static final int D_BYTES = 2;
    public static final int BLOCK_BYTES = D_OFFSET + D_BYTES;

    static final Q6KCodec INSTANCE = new Q6KCodec();

    private static final class Scratch {
        final byte[] block = new byte[BLOCK_BYTES];
        final byte[] L = new byte[QK_K];
        final float[] scales = new float[QK_K / 16];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Q6KCodec() {
        super(GgmlType.Q6_K, WITH_IMATRIX, D_OFFSET);
    }

    /**
     * {@code quantize_row_q6_K_ref} without importance; {@code quantize_row_q6_K_impl} with it, which (unlike the
     * other K-quants) passes the raw importance values to {@code make_qx_quants}, with no σ² term.
     */
    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        Scratch s = SCRATCH.get();
        for (int i = 0; i < n / QK_K; i++) {
            quantizeBlock(src, srcOff + i * QK_K, importance, i * QK_K, s);
            MemorySegment.copy(s.block, 0, dst, ValueLayout.JAVA_BYTE, dstOff + (long) i * BLOCK_BYTES, BLOCK_BYTES);
        }
    }

    /** Both C paths in one: they differ only in the weights given to {@code make_qx_quants}. */
    private static void quantizeBlock(float[] x, int xOff, float[] quantWeights, int qwOff, Scratch s) {
        final byte[] y = s.block;
        final byte[] L = s.L;
        float maxScale = 0;
        float maxAbsScale = 0;
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            final float scale = KQuantSearch.makeQxQuants(16, 32, x, xOff + 16 * ib, L, 16 * ib, 1, quantWeights,
                    qwOff + 16 * ib);
            s.scales[ib] = scale;
            final float absScale = Math.abs(scale);
            if (absScale > maxAbsScale) {
                maxAbsScale = absScale;
                maxScale = scale;
            }
        }

        if (maxAbsScale < KQuantSearch.GROUP_MAX_EPS) {
            Arrays.fill(y, (byte) 0);
            LittleEndian.putHalf(y, D_OFFSET, 0.f);
            return;
        }

        float iscale = -128.f / maxScale;
        final float dAll = LittleEndian.putHalf(y, D_OFFSET, 1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            y[SCALES_OFFSET + ib] = (byte) Math.min(127, nearestInt(iscale * s.scales[ib]));
        }

        for (int j = 0; j < QK_K / 16; ++j) {
            float d = dAll * y[SCALES_OFFSET + j];
            if (d == 0) {
                continue;
            }
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[xOff + 16 * j + ii] / d);
                l = Math.max(-32, Math.min(31, l));
                L[16 * j + ii] = (byte) (l + 32);
            }
        }

        int ql = QL_OFFSET;
        int qh = QH_OFFSET;
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                final int q1 = L[j + l] & 0xF;
                final int q2 = L[j + l + 32] & 0xF;
                final int q3 = L[j + l + 64] & 0xF;
                final int q4 = L[j + l + 96] & 0xF;
                y[ql + l] = (byte) (q1 | (q3 << 4));
                y[ql + l + 32] = (byte) (q2 | (q4 << 4));
                y[qh + l] = (byte) ((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4)
                        | ((L[j + l + 96] >> 4) << 6));
            }
            ql += 64;
            qh += 32;
        }
    }

    /** {@code dequantize_row_q6_K}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = SCRATCH.get().block;
        int y = dstOff;
        for (int i = 0; i < n / QK_K; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = LittleEndian.getHalf(x, D_OFFSET);
            int ql = QL_OFFSET;
            int qh = QH_OFFSET;
            int sc = SCALES_OFFSET;
            for (int n128 = 0; n128 < QK_K; n128 += 128) {
                for (int l = 0; l < 32; ++l) {
                    int is = l / 16;
                    int h = x[qh + l] & 0xFF;
                    final int q1 = (byte) ((x[ql + l] & 0xF) | ((h & 3) << 4)) - 32;
                    final int q2 = (byte) ((x[ql + l + 32] & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                    final int q3 = (byte) (((x[ql + l] & 0xFF) >> 4) | (((h >> 4) & 3) << 4)) - 32;
                    final int q4 = (byte) (((x[ql + l + 32] & 0xFF) >> 4) | (((h >> 6) & 3) << 4)) - 32;
                    dst[y + l] = d * x[sc + is] * q1;
                    dst[y + l + 32] = d * x[sc + is + 2] * q2;
                    dst[y + l + 64] = d * x[sc + is + 4] * q3;
                    dst[y + l + 96] = d * x[sc + is + 6] * q4;
                }
                y += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        VectorDequant.BlockScratch s = VectorDequant.BLOCK_SCRATCH.get();
        float sum = 0;
        for (int i = 0; i < n / QK_K; i++) {
            long b = wOff + (long) i * BLOCK_BYTES;
            final float d = HalfFloat.fp16ToFp32(w.get(LittleEndian.SHORT, b + D_OFFSET));
            for (int k = 0; k < 16; k++) {
                s.scale[k] = d * scale(w, b + SCALES_OFFSET, k);
                s.bias[k] = 0;
            }
            unpack(w, b, s.codes);
            sum += VectorDequant.dotCodes(s.codes, s.scale, s.bias, 16, QK_K, x, xOff + i * QK_K);
        }
        return sum;
    }

    /** The 256 signed codes q − 32 of the block at {@code b}, in element order. */
    private static void unpack(MemorySegment w, long b, byte[] codes) {
        for (int half = 0; half < 2; half++) {
            long ql = b + QL_OFFSET + 64 * half;
            long qh = b + QH_OFFSET + 32 * half;
            int e = 128 * half;
            for (int g = 0; g < 32; g += 16) {
                ByteVector lA = VectorDequant.load16(w, ql + g);
                ByteVector lB = VectorDequant.load16(w, ql + 32 + g);
                ByteVector h = VectorDequant.load16(w, qh + g);
                lA.and((byte) 0xF).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32)
                        .intoArray(codes, e + g);
                lB.and((byte) 0xF).or(h.and((byte) 0x0C).lanewise(VectorOperators.LSHL, 2)).sub((byte) 32)
                        .intoArray(codes, e + g + 32);
                lA.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 0x30)).sub((byte) 32)
                        .intoArray(codes, e + g + 64);
                lB.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 2).and((byte) 0x30))
                        .sub((byte) 32).intoArray(codes, e + g + 96);
            }
        }
    }

    private static int scale(MemorySegment w, long sc, int k) {
        return w.get(ValueLayout.JAVA_BYTE, sc + k);
    }

    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int b = 0; b < n / QK_K; b++) {
            decodeBlockVector(src, srcOff + (long) b * BLOCK_BYTES, dst, dstOff + b * QK_K);
        }
    }

    /** x = d·sc·(q − 32) per 16 elements, evaluated (d·sc)·q as the scalar port does. */
    private static void decodeBlockVector(MemorySegment w, long p, float[] dst, int y) {
        float d = VectorDequant.half(w, p + D_OFFSET);
        for (int half = 0; half < 2; half++) {
            long ql = p + QL_OFFSET + 64 * half;
            long qh = p + QH_OFFSET + 32 * half;
            long sc = p + SCALES_OFFSET + 8 * half;
            for (int g = 0; g < 32; g += 16) {
                int is = g / 16;
                ByteVector lA = VectorDequant.load16(w, ql + g);
                ByteVector lB = VectorDequant.load16(w, ql + 32 + g);
                ByteVector h = VectorDequant.load16(w, qh + g);
                VectorDequant.store16(lA.and((byte) 0x0F).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4))
                        .sub((byte) 32), d * w.get(ValueLayout.JAVA_BYTE, sc + is), dst, y + g);
                VectorDequant.store16(lB.and((byte) 0x0F).or(h.and((byte) 0x0C).lanewise(VectorOperators.LSHL, 2))
                        .sub((byte) 32), d * w.get(ValueLayout.JAVA_BYTE, sc + is + 2), dst, y + g + 32);
                VectorDequant.store16(lA.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 0x30)).sub((byte) 32),
                        d * w.get(ValueLayout.JAVA_BYTE, sc + is + 4), dst, y + g + 64);
                VectorDequant.store16(lB.lanewise(VectorOperators.LSHR, 4)
                        .or(h.lanewise(VectorOperators.LSHR, 2).and((byte) 0x30)).sub((byte) 32),
                        d * w.get(ValueLayout.JAVA_BYTE, sc + is + 6), dst, y + g + 96);
            }
            y += 128;
        }
    }
}
