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
 * GGML_TYPE_Q5_0, {@code block_q5_0}: {@code ggml_half d; uint8_t qh[4]; uint8_t qs[16];}, x = d·(q − 16). The low
 * four bits are packed as in Q4_0; bit j of the little-endian uint32 qh is the fifth bit of element j.
 */
public final class Q5_0Codec extends BlockCodec {
    public static final int QK = 32;
    public static final int D_OFFSET = 0;
    public static final int D_BYTES = 2;
    public static final int QH_OFFSET = D_OFFSET + D_BYTES;
    public static final int QH_BYTES = 4;
    public static final int QS_OFFSET = QH_OFFSET + QH_BYTES;
    public static final int QS_BYTES = QK / 2;
    public static final int BLOCK_BYTES = QS_OFFSET + QS_BYTES;

    static final Q5_0Codec INSTANCE = new Q5_0Codec();

    private static final class Scratch {
        final byte[] block = new byte[BLOCK_BYTES];
        final float[] weight = new float[QK];
        final byte[] L = new byte[QK];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Q5_0Codec() {
        super(GgmlType.Q5_0, WITH_IMATRIX, D_OFFSET);
    }

    /** {@code quantize_row_q5_0_ref} without importance, {@code quantize_row_q5_0_impl} with it. */
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
            final float max = AbsMax.signedOf(src, x, QK);
            final float d = max / -16;
            final float id = d != 0 ? 1.0f / d : 0.0f;
            LittleEndian.putHalf(y, D_OFFSET, d);
            int qh = 0;
            for (int j = 0; j < QK / 2; ++j) {
                final float x0 = src[x + j] * id;
                final float x1 = src[x + QK / 2 + j] * id;
                final int xi0 = Math.min(31, (byte) (int) (x0 + 16.5f)) & 0xFF;
                final int xi1 = Math.min(31, (byte) (int) (x1 + 16.5f)) & 0xFF;
                y[QS_OFFSET + j] = (byte) ((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                // the fifth bit goes to qh
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
            float d = KQuantSearch.makeQxQuants(QK, 16, x, xb, s.L, 0, 1, s.weight, 0);
            LittleEndian.putHalf(y, D_OFFSET, d);
            packCodes(s.L, y, QS_OFFSET, QH_OFFSET);
            MemorySegment.copy(y, 0, dst, ValueLayout.JAVA_BYTE, dstOff + (long) ib * BLOCK_BYTES, BLOCK_BYTES);
        }
    }

    /**
     * The packing of {@code quantize_row_q5_0_impl} and {@code quantize_row_q5_1_impl}: the 32 five-bit codes in
     * {@code L} split into low nibbles at {@code qsOff} (as Q4_0) and fifth bits in the uint32 at {@code qhOff}.
     */
    static void packCodes(byte[] L, byte[] y, int qsOff, int qhOff) {
        int qh = 0;
        for (int j = 0; j < QK / 2; ++j) {
            final int xi0 = L[j] & 0xFF;
            final int xi1 = L[j + QK / 2] & 0xFF;
            y[qsOff + j] = (byte) ((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
            qh |= ((xi0 & 0x10) >>> 4) << j;
            qh |= ((xi1 & 0x10) >>> 4) << (j + QK / 2);
        }
        LittleEndian.putInt(y, qhOff, qh);
    }

    /** {@code dequantize_row_q5_0}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = SCRATCH.get().block;
        for (int i = 0; i < n / QK; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = LittleEndian.getHalf(x, D_OFFSET);
            final int qh = LittleEndian.getInt(x, QH_OFFSET);
            int y = dstOff + i * QK;
            for (int j = 0; j < QK / 2; ++j) {
                final int xh0 = ((qh >>> j) << 4) & 0x10;
                final int xh1 = (qh >>> (j + 12)) & 0x10;
                final int x0 = ((x[QS_OFFSET + j] & 0x0F) | xh0) - 16;
                final int x1 = (((x[QS_OFFSET + j] & 0xFF) >> 4) | xh1) - 16;
                dst[y + j] = x0 * d;
                dst[y + j + QK / 2] = x1 * d;
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
            int qh = w.get(LittleEndian.INT, b + QH_OFFSET);
            ByteVector qs = VectorDequant.load16(w, b + QS_OFFSET);
            VectorMask<Byte> h0 = VectorMask.fromLong(VectorDequant.B16, qh & 0xFFFF);
            VectorMask<Byte> h1 = VectorMask.fromLong(VectorDequant.B16, qh >>> 16);
            ByteVector lo = qs.and((byte) 0x0F).lanewise(VectorOperators.OR, (byte) 0x10, h0).sub((byte) 16);
            ByteVector hi = qs.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.OR, (byte) 0x10, h1)
                    .sub((byte) 16);
            int xi = xOff + i * QK;
            acc = VectorDequant.fma16(lo, d, x, xi, acc);
            acc = VectorDequant.fma16(hi, d, x, xi + 16, acc);
        }
        return VectorDequant.sum(acc);
    }

    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int b = 0; b < n / QK; b++) {
            long p = srcOff + (long) b * BLOCK_BYTES;
            float d = VectorDequant.half(src, p + D_OFFSET);
            ByteVector qh = VectorDequant.load16(src, p + QH_OFFSET);
            ByteVector qs = VectorDequant.load16(src, p + QS_OFFSET);
            int y = dstOff + b * QK;
            VectorDequant.store16(qs.and((byte) 0x0F).or(VectorDequant.q5HighBits(qh, VectorDequant.QH_LOW))
                    .sub((byte) 16), d, dst, y);
            VectorDequant.store16(qs.lanewise(VectorOperators.LSHR, 4)
                    .or(VectorDequant.q5HighBits(qh, VectorDequant.QH_HIGH)).sub((byte) 16), d, dst, y + 16);
        }
    }
}
