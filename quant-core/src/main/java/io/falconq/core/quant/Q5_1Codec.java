package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.quant.kquant.KQuantSearch;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML_TYPE_Q5_1, {@code block_q5_1}: {@code ggml_half d; ggml_half m; uint8_t qh[4]; uint8_t qs[16];},
 * x = d·q + m, bits packed as in Q5_0.
 */
public final class Q5_1Codec extends BlockCodec {
    public static final int QK = 32;
    public static final int D_OFFSET = 0;
    public static final int D_BYTES = 2;
    public static final int M_OFFSET = D_OFFSET + D_BYTES;
    public static final int M_BYTES = 2;
    public static final int QH_OFFSET = M_OFFSET + M_BYTES;
    public static final int QH_BYTES = 4;
    public static final int QS_OFFSET = QH_OFFSET + QH_BYTES;
    public static final int QS_BYTES = QK / 2;
    public static final int BLOCK_BYTES = QS_OFFSET + QS_BYTES;

    static final Q5_1Codec INSTANCE = new Q5_1Codec();

    private static final class Scratch {
        final byte[] block = new byte[BLOCK_BYTES];
        final float[] weight = new float[QK];
        final byte[] L = new byte[QK];
        final byte[] Laux = new byte[QK];
        final float[] min = new float[1];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Q5_1Codec() {
        super(GgmlType.Q5_1, WITH_IMATRIX, D_OFFSET, M_OFFSET);
    }

    /** {@code quantize_row_q5_1_ref} without importance, {@code quantize_row_q5_1_impl} with it. */
    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        Scratch s = SCRATCH.get();
        if (importance == null) {
            quantizeRef(src, srcOff, n, s.block, dst, dstOff);
        } else {
            quantizeImpl(src, srcOff, n, importance, s, dst, dstOff);
        }
    }

    private static void quantizeRef(float[] src, int srcOff, int n, byte[] y, MemorySegment dst, long dstOff) {
        for (int i = 0; i < n / QK; i++) {
            int x = srcOff + i * QK;
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = 0; j < QK; j++) {
                final float v = src[x + j];
                if (v < min) {
                    min = v;
                }
                if (v > max) {
                    max = v;
                }
            }
            final float d = (max - min) / ((1 << 5) - 1);
            final float id = d != 0 ? 1.0f / d : 0.0f;
            LittleEndian.putHalf(y, D_OFFSET, d);
            LittleEndian.putHalf(y, M_OFFSET, min);
            int qh = 0;
            for (int j = 0; j < QK / 2; ++j) {
                final float x0 = (src[x + j] - min) * id;
                final float x1 = (src[x + QK / 2 + j] - min) * id;
                final int xi0 = (int) (x0 + 0.5f) & 0xFF;
                final int xi1 = (int) (x1 + 0.5f) & 0xFF;
                y[QS_OFFSET + j] = (byte) ((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= ((xi0 & 0x10) >>> 4) << j;
                qh |= ((xi1 & 0x10) >>> 4) << (j + QK / 2);
            }
            LittleEndian.putInt(y, QH_OFFSET, qh);
            MemorySegment.copy(y, 0, dst, ValueLayout.JAVA_BYTE, dstOff + (long) i * BLOCK_BYTES, BLOCK_BYTES);
        }
    }

    private static void quantizeImpl(float[] x, int xOff, int nPerRow, float[] quantWeights, Scratch s,
                                     MemorySegment dst, long dstOff) {
        float sigma2 = QuantWeights.sumOfSquares(x, xOff, nPerRow) / nPerRow;
        byte[] y = s.block;
        for (int ib = 0; ib < nPerRow / QK; ++ib) {
            int xb = xOff + QK * ib;
            QuantWeights.imatrix(s.weight, quantWeights, QK * ib, x, xb, sigma2, QK);
            float d = KQuantSearch.makeQkx3Quants(QK, 31, x, xb, s.weight, 0, s.L, 0, s.min, 0, s.Laux, -0.9f, 0.05f,
                    36, false);
            LittleEndian.putHalf(y, D_OFFSET, d);
            LittleEndian.putHalf(y, M_OFFSET, -s.min[0]);
            Q5_0Codec.packCodes(s.L, y, QS_OFFSET, QH_OFFSET);
            MemorySegment.copy(y, 0, dst, ValueLayout.JAVA_BYTE, dstOff + (long) ib * BLOCK_BYTES, BLOCK_BYTES);
        }
    }

    /** {@code dequantize_row_q5_1}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = SCRATCH.get().block;
        for (int i = 0; i < n / QK; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = LittleEndian.getHalf(x, D_OFFSET);
            final float m = LittleEndian.getHalf(x, M_OFFSET);
            final int qh = LittleEndian.getInt(x, QH_OFFSET);
            int y = dstOff + i * QK;
            for (int j = 0; j < QK / 2; ++j) {
                final int xh0 = ((qh >>> j) << 4) & 0x10;
                final int xh1 = (qh >>> (j + 12)) & 0x10;
                final int x0 = (x[QS_OFFSET + j] & 0x0F) | xh0;
                final int x1 = ((x[QS_OFFSET + j] & 0xFF) >> 4) | xh1;
                dst[y + j] = x0 * d + m;
                dst[y + j + QK / 2] = x1 * d + m;
            }
        }
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        FloatVector acc = VectorDequant.zero();
        for (int i = 0; i < n / QK; i++) {
            long b = wOff + (long) i * BLOCK_BYTES;
            float d = HalfFloat.fp16ToFp32(w.get(LittleEndian.SHORT, b + D_OFFSET));
            float m = HalfFloat.fp16ToFp32(w.get(LittleEndian.SHORT, b + M_OFFSET));
            int qh = w.get(LittleEndian.INT, b + QH_OFFSET);
            ByteVector qs = VectorDequant.load16(w, b + QS_OFFSET);
            VectorMask<Byte> h0 = VectorMask.fromLong(VectorDequant.B16, qh & 0xFFFF);
            VectorMask<Byte> h1 = VectorMask.fromLong(VectorDequant.B16, qh >>> 16);
            ByteVector lo = qs.and((byte) 0x0F).lanewise(VectorOperators.OR, (byte) 0x10, h0);
            ByteVector hi = qs.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.OR, (byte) 0x10, h1);
            int xi = xOff + i * QK;
            acc = VectorDequant.fma16(lo, d, m, x, xi, acc);
            acc = VectorDequant.fma16(hi, d, m, x, xi + 16, acc);
        }
        return VectorDequant.sum(acc);
    }

    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int b = 0; b < n / QK; b++) {
            long p = srcOff + (long) b * BLOCK_BYTES;
            float d = VectorDequant.half(src, p + D_OFFSET);
            float m = VectorDequant.half(src, p + M_OFFSET);
            ByteVector qh = VectorDequant.load16(src, p + QH_OFFSET);
            ByteVector qs = VectorDequant.load16(src, p + QS_OFFSET);
            int y = dstOff + b * QK;
            VectorDequant.store16Add(qs.and((byte) 0x0F).or(VectorDequant.q5HighBits(qh, VectorDequant.QH_LOW)), d,
                    m, dst, y);
            VectorDequant.store16Add(qs.lanewise(VectorOperators.LSHR, 4)
                    .or(VectorDequant.q5HighBits(qh, VectorDequant.QH_HIGH)), d, m, dst, y + 16);
        }
    }
}
