package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML_TYPE_IQ4_NL, {@code block_iq4_nl}: {@code ggml_half d; uint8_t qs[16];}, x = d·kvalues_iq4nl[q], nibbles
 * as in Q4_0. Quantize is {@code quantize_iq4_nl} (7 scale trials, with or without importance), which is what
 * llama-quantize runs; {@code quantize_row_iq4_nl_ref} (no trials) is not used for model files.
 */
public final class Iq4NlCodec extends BlockCodec {
    public static final int QK = 32;
    public static final int D_OFFSET = 0;
    public static final int D_BYTES = 2;
    public static final int QS_OFFSET = D_OFFSET + D_BYTES;
    public static final int QS_BYTES = QK / 2;
    public static final int BLOCK_BYTES = QS_OFFSET + QS_BYTES;

    static final Iq4NlCodec INSTANCE = new Iq4NlCodec();

    private static final ByteVector CODEBOOK = ByteVector.fromArray(VectorDequant.B16, Iq4NonLinear.KVALUES, 0);

    private static final class Scratch {
        final byte[] block = new byte[BLOCK_BYTES];
        final byte[] L = new byte[QK];
        final float[] weight = new float[QK];
        final float[] scale = new float[1];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Iq4NlCodec() {
        super(GgmlType.IQ4_NL, WITH_IMATRIX, D_OFFSET);
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        Scratch s = SCRATCH.get();
        for (int ibl = 0; ibl < n / QK; ibl++) {
            Iq4NonLinear.quantizeSuperBlock(QK, 32, src, srcOff + QK * ibl, s.block, D_OFFSET, QS_OFFSET, -1, -1,
                    s.scale, s.weight, s.L, importance, QK * ibl, 7);
            MemorySegment.copy(s.block, 0, dst, ValueLayout.JAVA_BYTE, dstOff + (long) ibl * BLOCK_BYTES, BLOCK_BYTES);
        }
    }

    /** {@code dequantize_row_iq4_nl}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = SCRATCH.get().block;
        for (int i = 0; i < n / QK; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = LittleEndian.getHalf(x, D_OFFSET);
            int y = dstOff + i * QK;
            for (int j = 0; j < QK / 2; ++j) {
                dst[y + j] = d * Iq4NonLinear.KVALUES[x[QS_OFFSET + j] & 0xf];
                dst[y + j + QK / 2] = d * Iq4NonLinear.KVALUES[(x[QS_OFFSET + j] & 0xFF) >> 4];
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
            int xi = xOff + i * QK;
            acc = VectorDequant.fma16(lookup(qs.and((byte) 0xF)), d, x, xi, acc);
            acc = VectorDequant.fma16(lookup(qs.lanewise(VectorOperators.LSHR, 4)), d, x, xi + 16, acc);
        }
        return VectorDequant.sum(acc);
    }

    /** The 16 codebook values for 16 indices 0..15 (a byte shuffle). */
    static ByteVector lookup(ByteVector indices) {
        return indices.selectFrom(CODEBOOK);
    }

    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int b = 0; b < n / QK; b++) {
            long p = srcOff + (long) b * BLOCK_BYTES;
            float d = VectorDequant.half(src, p + D_OFFSET);
            ByteVector qs = VectorDequant.load16(src, p + QS_OFFSET);
            int y = dstOff + b * QK;
            VectorDequant.store16(lookup(qs.and((byte) 0x0F)), d, dst, y);
            VectorDequant.store16(lookup(qs.lanewise(VectorOperators.LSHR, 4)), d, dst, y + 16);
        }
    }
}
