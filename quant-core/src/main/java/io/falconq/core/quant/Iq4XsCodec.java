package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML_TYPE_IQ4_XS, {@code block_iq4_xs}: {@code ggml_half d; uint16_t scales_h; uint8_t scales_l[4];
 * uint8_t qs[128];}. Eight blocks of 32, each with a 6-bit scale (low 4 bits in nibble i%2 of scales_l[i/2], high 2
 * bits at bits 2i..2i+1 of scales_h); x = d·(ls − 32)·kvalues_iq4nl[q], Q4_0 nibble order within each 16 bytes.
 */
public final class Iq4XsCodec extends BlockCodec {
    public static final int QK_K = 256;
    public static final int D_OFFSET = 0;
    public static final int D_BYTES = 2;
    public static final int SCALES_H_OFFSET = D_OFFSET + D_BYTES;
    public static final int SCALES_H_BYTES = 2;
    public static final int SCALES_L_OFFSET = SCALES_H_OFFSET + SCALES_H_BYTES;
    public static final int SCALES_L_BYTES = QK_K / 64;
    public static final int QS_OFFSET = SCALES_L_OFFSET + SCALES_L_BYTES;
    public static final int QS_BYTES = QK_K / 2;
    public static final int BLOCK_BYTES = QS_OFFSET + QS_BYTES;

    static final Iq4XsCodec INSTANCE = new Iq4XsCodec();

    private static final class Scratch {
        final byte[] block = new byte[BLOCK_BYTES];
        final byte[] L = new byte[QK_K];
        final float[] weight = new float[32];
        final float[] scales = new float[QK_K / 32];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Iq4XsCodec() {
        super(GgmlType.IQ4_XS, WITH_IMATRIX, D_OFFSET);
    }

    /** {@code quantize_iq4_xs} (7 scale trials per block, with or without importance). */
    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        Scratch s = SCRATCH.get();
        for (int ibl = 0; ibl < n / QK_K; ibl++) {
            Iq4NonLinear.quantizeSuperBlock(QK_K, 32, src, srcOff + QK_K * ibl, s.block, D_OFFSET, QS_OFFSET,
                    SCALES_H_OFFSET, SCALES_L_OFFSET, s.scales, s.weight, s.L, importance, QK_K * ibl, 7);
            MemorySegment.copy(s.block, 0, dst, ValueLayout.JAVA_BYTE, dstOff + (long) ibl * BLOCK_BYTES, BLOCK_BYTES);
        }
    }

    private static int blockScale(byte[] x, int ib) {
        int scalesH = LittleEndian.getShort(x, SCALES_H_OFFSET) & 0xFFFF;
        return (((x[SCALES_L_OFFSET + ib / 2] & 0xFF) >> 4 * (ib % 2)) & 0xf) | (((scalesH >> 2 * ib) & 3) << 4);
    }

    /** {@code dequantize_row_iq4_xs}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = SCRATCH.get().block;
        int y = dstOff;
        for (int i = 0; i < n / QK_K; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = LittleEndian.getHalf(x, D_OFFSET);
            int qs = QS_OFFSET;
            for (int ib = 0; ib < QK_K / 32; ++ib) {
                final float dl = d * (blockScale(x, ib) - 32);
                for (int j = 0; j < 16; ++j) {
                    dst[y + j] = dl * Iq4NonLinear.KVALUES[x[qs + j] & 0xf];
                    dst[y + j + 16] = dl * Iq4NonLinear.KVALUES[(x[qs + j] & 0xFF) >> 4];
                }
                y += 32;
                qs += 16;
            }
        }
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        byte[] header = SCRATCH.get().block;
        FloatVector acc = VectorDequant.zero();
        for (int i = 0; i < n / QK_K; i++) {
            long b = wOff + (long) i * BLOCK_BYTES;
            MemorySegment.copy(w, ValueLayout.JAVA_BYTE, b, header, 0, QS_OFFSET);
            final float d = LittleEndian.getHalf(header, D_OFFSET);
            int xi = xOff + i * QK_K;
            for (int ib = 0; ib < QK_K / 32; ++ib) {
                final float dl = d * (blockScale(header, ib) - 32);
                ByteVector qs = VectorDequant.load16(w, b + QS_OFFSET + 16L * ib);
                acc = VectorDequant.fma16(Iq4NlCodec.lookup(qs.and((byte) 0xF)), dl, x, xi, acc);
                acc = VectorDequant.fma16(Iq4NlCodec.lookup(qs.lanewise(VectorOperators.LSHR, 4)), dl, x, xi + 16, acc);
                xi += 32;
            }
        }
        return VectorDequant.sum(acc);
    }

    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int b = 0; b < n / QK_K; b++) {
            long p = srcOff + (long) b * BLOCK_BYTES;
            int y = dstOff + b * QK_K;
            float d = VectorDequant.half(src, p + D_OFFSET);
            int scalesH = src.get(LittleEndian.SHORT, p + SCALES_H_OFFSET) & 0xFFFF;
            for (int ib = 0; ib < 8; ib++) {
                int ls = ((VectorDequant.byteAt(src, p + SCALES_L_OFFSET + ib / 2) >> 4 * (ib % 2)) & 0xF)
                        | (((scalesH >> 2 * ib) & 3) << 4);
                float dl = d * (ls - 32);
                ByteVector qs = VectorDequant.load16(src, p + QS_OFFSET + 16 * ib);
                VectorDequant.store16(Iq4NlCodec.lookup(qs.and((byte) 0x0F)), dl, dst, y);
                VectorDequant.store16(Iq4NlCodec.lookup(qs.lanewise(VectorOperators.LSHR, 4)), dl, dst, y + 16);
                y += 32;
            }
        }
    }
}
