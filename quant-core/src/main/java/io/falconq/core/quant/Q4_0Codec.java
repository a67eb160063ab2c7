package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.quant.kquant.KQuantSearch;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML_TYPE_Q4_0, {@code block_q4_0}: {@code ggml_half d; uint8_t qs[16];}, x = d·(q − 8); byte j holds element j
 * in its low nibble and element j+16 in its high nibble.
 */
public final class Q4_0Codec extends BlockCodec {
    public static final int QK = 32;
    public static final int D_OFFSET = 0;
    public static final int D_BYTES = 2;
    public static final int QS_OFFSET = D_OFFSET + D_BYTES;
    public static final int QS_BYTES = QK / 2;
    public static final int BLOCK_BYTES = QS_OFFSET + QS_BYTES;

    static final Q4_0Codec INSTANCE = new Q4_0Codec();

    private static final class Scratch {
        final byte[] block = new byte[BLOCK_BYTES];
        final float[] weight = new float[QK];
        final byte[] L = new byte[QK];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Q4_0Codec() {
        super(GgmlType.Q4_0, WITH_IMATRIX, D_OFFSET);
    }

    /** {@code quantize_row_q4_0_ref} without importance, {@code quantize_row_q4_0_impl} with it. */
    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        Scratch s = SCRATCH.get();
        if (importance == null) {
            LegacyQuantLanes.quantizeRow(src, srcOff, n, dst, dstOff, false);
        } else {
            quantizeImpl(src, srcOff, n, importance, s, dst, dstOff);
        }
    }

    /** The scalar port of one {@code quantize_row_q4_0_ref} block. */
    static void quantizeBlockScalar(float[] src, int x, byte[] y, int out) {
        final float max = AbsMax.signedOf(src, x, QK);
        final float d = max / -8;
        final float id = d != 0 ? 1.0f / d : 0.0f;
        LittleEndian.putHalf(y, out + D_OFFSET, d);
        for (int j = 0; j < QK / 2; ++j) {
            final float x0 = src[x + j] * id;
            final float x1 = src[x + QK / 2 + j] * id;
            final int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f)) & 0xFF;
            final int xi1 = Math.min(15, (byte) (int) (x1 + 8.5f)) & 0xFF;
            y[out + QS_OFFSET + j] = (byte) (xi0 | xi1 << 4);
        }
    }

    private static void quantizeImpl(float[] x, int xOff, int nPerRow, float[] quantWeights, Scratch s,
                                     MemorySegment dst, long dstOff) {
        float sigma2 = QuantWeights.sumOfSquares(x, xOff, nPerRow) / nPerRow;
        byte[] y = s.block;
        for (int ib = 0; ib < nPerRow / QK; ++ib) {
            int xb = xOff + QK * ib;
            QuantWeights.imatrix(s.weight, quantWeights, QK * ib, x, xb, sigma2, QK);
            float d = KQuantSearch.makeQxQuants(QK, 8, x, xb, s.L, 0, 1, s.weight, 0);
            LittleEndian.putHalf(y, D_OFFSET, d);
            packCodes(s.L, 0, y, QS_OFFSET);
            MemorySegment.copy(y, 0, dst, ValueLayout.JAVA_BYTE, dstOff + (long) ib * BLOCK_BYTES, BLOCK_BYTES);
        }
    }

    /**
     * The packing of the Q4_0, Q4_1 and IQ4 quantizers: 32 four-bit codes from {@code L[lOff ..]} into 16 bytes at
     * {@code qsOff}, element j in the low nibble of byte j and element j+16 in its high nibble.
     */
    static void packCodes(byte[] L, int lOff, byte[] y, int qsOff) {
        for (int j = 0; j < QK / 2; ++j) {
            y[qsOff + j] = (byte) (L[lOff + j] | L[lOff + j + QK / 2] << 4);
        }
    }

    /** {@code dequantize_row_q4_0}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = SCRATCH.get().block;
        for (int i = 0; i < n / QK; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = LittleEndian.getHalf(x, D_OFFSET);
            int y = dstOff + i * QK;
            for (int j = 0; j < QK / 2; ++j) {
                final int x0 = (x[QS_OFFSET + j] & 0x0F) - 8;
                final int x1 = ((x[QS_OFFSET + j] & 0xFF) >> 4) - 8;
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
            ByteVector qs = VectorDequant.load16(w, b + QS_OFFSET);
            ByteVector lo = qs.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = qs.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
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
            ByteVector qs = VectorDequant.load16(src, p + QS_OFFSET);
            int y = dstOff + b * QK;
            VectorDequant.store16(qs.and((byte) 0x0F).sub((byte) 8), d, dst, y);
            VectorDequant.store16(qs.lanewise(VectorOperators.LSHR, 4).sub((byte) 8), d, dst, y + 16);
        }
    }
}
