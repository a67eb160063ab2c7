package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.falconq.core.quant.GgmlRounding.nearestInt;

/**
 * GGML_TYPE_Q8_K, {@code block_q8_K}: {@code float d; int8_t qs[256]; int16_t bsums[16];}, x = d·q. llama.cpp
 * uses it for activations inside K-quant matrix products and never stores it in model files. Quantize is
 * {@code quantize_row_q8_K_ref} (ggml-quants.c); ggml-cpu's SIMD {@code quantize_row_q8_K} may round differently.
 */
public final class Q8KCodec extends BlockCodec {
    public static final int QK_K = 256;
    public static final int D_OFFSET = 0;
    public static final int D_BYTES = 4;
    public static final int QS_OFFSET = D_OFFSET + D_BYTES;
    public static final int QS_BYTES = QK_K;
    public static final int BSUMS_OFFSET = QS_OFFSET + QS_BYTES;
    public static final int BSUMS_BYTES = QK_K / 16 * 2;
    public static final int BLOCK_BYTES = BSUMS_OFFSET + BSUMS_BYTES;

    static final Q8KCodec INSTANCE = new Q8KCodec();

    private static final ThreadLocal<byte[]> BLOCK = ThreadLocal.withInitial(() -> new byte[BLOCK_BYTES]);

    private Q8KCodec() {
        super(GgmlType.Q8_K, WITHOUT_IMATRIX);
    }

    /** {@code quantize_row_q8_K_ref}. */
    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        byte[] y = BLOCK.get();
        for (int i = 0; i < n / QK_K; i++) {
            int x = srcOff + i * QK_K;
            float max = AbsMax.firstLargest(src, x, QK_K);
            if (max == 0) {
                // C leaves bsums untouched here; the block buffer is zeroed so this port writes zero sums
                java.util.Arrays.fill(y, (byte) 0);
            } else {
                // ggml: -127 rather than -128 keeps IQ2_XXS's AVX kernel simple
                final float iscale = -127.f / max;
                for (int j = 0; j < QK_K; ++j) {
                    int v = nearestInt(iscale * src[x + j]);
                    y[QS_OFFSET + j] = (byte) Math.min(127, v);
                }
                for (int j = 0; j < QK_K / 16; ++j) {
                    int sum = 0;
                    for (int ii = 0; ii < 16; ++ii) {
                        sum += y[QS_OFFSET + j * 16 + ii];
                    }
                    LittleEndian.putShort(y, BSUMS_OFFSET + 2 * j, (short) sum);
                }
                LittleEndian.putInt(y, D_OFFSET, Float.floatToRawIntBits(1 / iscale));
            }
            MemorySegment.copy(y, 0, dst, ValueLayout.JAVA_BYTE, dstOff + (long) i * BLOCK_BYTES, BLOCK_BYTES);
        }
    }

    /** {@code dequantize_row_q8_K}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = BLOCK.get();
        for (int i = 0; i < n / QK_K; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = Float.intBitsToFloat(LittleEndian.getInt(x, D_OFFSET));
            for (int j = 0; j < QK_K; ++j) {
                dst[dstOff + i * QK_K + j] = d * x[QS_OFFSET + j];
            }
        }
    }

    @Override
    public long firstInvalidBlock(MemorySegment w, long off, int n) {
        for (int b = 0; b < n / QK_K; b++) {
            if (!Float.isFinite(w.get(LittleEndian.FLOAT, off + (long) b * BLOCK_BYTES + D_OFFSET))) {
                return b;
            }
        }
        return -1;
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        FloatVector acc = VectorDequant.zero();
        for (int i = 0; i < n / QK_K; i++) {
            long b = wOff + (long) i * BLOCK_BYTES;
            float d = w.get(LittleEndian.FLOAT, b + D_OFFSET);
            int xi = xOff + i * QK_K;
            for (int k = 0; k < QK_K; k += 16) {
                acc = VectorDequant.fma16(VectorDequant.load16(w, b + QS_OFFSET + k), d, x, xi + k, acc);
            }
        }
        return VectorDequant.sum(acc);
    }

    /** An activation format, never decoded from a model file: the scalar port serves. */
    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        dequantizeRow(src, srcOff, dst, dstOff, n);
    }
}
