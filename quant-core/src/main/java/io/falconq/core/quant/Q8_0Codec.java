package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML_TYPE_Q8_0, {@code block_q8_0}: {@code ggml_half d; int8_t qs[32];}, x = d·q. {@code quantize_q8_0} ignores
 * the imatrix and always runs {@code quantize_row_q8_0_ref}.
 */
public final class Q8_0Codec extends BlockCodec {
    public static final int QK = 32;
    public static final int D_OFFSET = 0;
    public static final int D_BYTES = 2;
    public static final int QS_OFFSET = D_OFFSET + D_BYTES;
    public static final int QS_BYTES = QK;
    public static final int BLOCK_BYTES = QS_OFFSET + QS_BYTES;

    static final Q8_0Codec INSTANCE = new Q8_0Codec();

    private static final ThreadLocal<byte[]> BLOCK = ThreadLocal.withInitial(() -> new byte[BLOCK_BYTES]);

    private Q8_0Codec() {
        super(GgmlType.Q8_0, WITHOUT_IMATRIX, D_OFFSET);
    }

    /** {@code quantize_row_q8_0_ref}, block by block on vector lanes or by {@link #quantizeBlockScalar}. */
    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        LegacyQuantLanes.quantizeRow(src, srcOff, n, dst, dstOff, true);
    }

    /**
     * The scalar port of one block. Blocks whose scaled values are safely below 2³⁰ — all but those with an
     * overflowing 1/d — round with the branch-free {@link GgmlRounding#roundfToInt}.
     */
    static void quantizeBlockScalar(float[] src, int x, byte[] y, int out) {
        final float amax = AbsMax.of(src, x, QK);
        final float d = amax / ((1 << 7) - 1);
        final float id = d != 0 ? 1.0f / d : 0.0f;
        LittleEndian.putHalf(y, out + D_OFFSET, d);
        if (amax * id < 0x1.0p30f) {
            for (int j = 0; j < QK; ++j) {
                y[out + QS_OFFSET + j] = (byte) GgmlRounding.roundfToInt(src[x + j] * id);
            }
        } else {
            for (int j = 0; j < QK; ++j) {
                y[out + QS_OFFSET + j] = (byte) (int) GgmlRounding.roundf(src[x + j] * id);
            }
        }
    }

    /** {@code dequantize_row_q8_0}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = BLOCK.get();
        for (int i = 0; i < n / QK; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = LittleEndian.getHalf(x, D_OFFSET);
            for (int j = 0; j < QK; ++j) {
                dst[dstOff + i * QK + j] = x[QS_OFFSET + j] * d;
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
            int xi = xOff + i * QK;
            acc = VectorDequant.fma16(VectorDequant.load16(w, b + QS_OFFSET), d, x, xi, acc);
            acc = VectorDequant.fma16(VectorDequant.load16(w, b + QS_OFFSET + 16), d, x, xi + 16, acc);
        }
        return VectorDequant.sum(acc);
    }

    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int b = 0; b < n / QK; b++) {
            long p = srcOff + (long) b * BLOCK_BYTES;
            float d = VectorDequant.half(src, p + D_OFFSET);
            int y = dstOff + b * QK;
            VectorDequant.store16(VectorDequant.load16(src, p + QS_OFFSET), d, dst, y);
            VectorDequant.store16(VectorDequant.load16(src, p + QS_OFFSET + 16), d, dst, y + 16);
        }
    }
}
