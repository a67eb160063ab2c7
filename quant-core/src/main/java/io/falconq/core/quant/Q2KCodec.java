package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.quant.kquant.KQuantSearch;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.falconq.core.quant.GgmlRounding.nearestInt;

/**
 * GGML_TYPE_Q2_K, {@code block_q2_K}: {@code uint8_t scales[16]; uint8_t qs[64]; ggml_half d; ggml_half dmin;}.
 * Sixteen sub-blocks of 16; scale byte j holds a 4-bit scale (low nibble) and a 4-bit min (high nibble);
 * x = d·(sc & 15)·q − dmin·(sc >> 4). 2-bit planes: in half b, byte 32b + l holds element 128b + l + 32k in bits
 * 2k..2k+1.
 */
public final class Q2KCodec extends BlockCodec {
    public static final int QK_K = 256;
    public static final int SCALES_OFFSET = 0;
    public static final int SCALES_BYTES = QK_K / 16;
    public static final int QS_OFFSET = SCALES_OFFSET + SCALES_BYTES;
    public static final int QS_BYTES = QK_K / 4;
    public static final int D_OFFSET = QS_OFFSET + QS_BYTES;
    public static final int D_BYTES = 2;
    public static final int DMIN_OFFSET = D_OFFSET + D_BYTES;
    public static final int DMIN_BYTES = 2;
    public static final int BLOCK_BYTES = DMIN_OFFSET + DMIN_BYTES;

    static final Q2KCodec INSTANCE = new Q2KCodec();

    private static final class Scratch {
        final byte[] block = new byte[BLOCK_BYTES];
        final byte[] L = new byte[QK_K];
        final byte[] Laux = new byte[16];
        final float[] weights = new float[16];
        final float[] mins = new float[QK_K / 16];
        final float[] scales = new float[QK_K / 16];
        final float[] sw = new float[QK_K / 16];
        final byte[] Ls = new byte[QK_K / 16];
        final byte[] Lm = new byte[QK_K / 16];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Q2KCodec() {
        super(GgmlType.Q2_K, WITH_IMATRIX, D_OFFSET, DMIN_OFFSET);
    }

    /** {@code quantize_row_q2_K_ref} without importance, {@code quantize_row_q2_K_impl} with it. */
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
        final byte[] L = s.L;
        final float q4scale = 15.f;

        float maxScale = 0; // as we are deducting the min, scales are always positive
        float maxMin = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            for (int l = 0; l < 16; ++l) {
                s.weights[l] = Math.abs(x[xOff + 16 * j + l]);
            }
            s.scales[j] = KQuantSearch.makeQkx2Quants(16, 3, x, xOff + 16 * j, s.weights, 0, L, 16 * j, s.mins, j,
                    s.Laux, -0.5f, 0.1f, 15, true);
            float scale = s.scales[j];
            if (scale > maxScale) {
                maxScale = scale;
            }
            float min = s.mins[j];
            if (min > maxMin) {
                maxMin = min;
            }
        }

        float d;
        if (maxScale > 0) {
            float iscale = q4scale / maxScale;
            for (int j = 0; j < QK_K / 16; ++j) {
                int l = nearestInt(iscale * s.scales[j]);
                y[SCALES_OFFSET + j] = (byte) l;
            }
            d = LittleEndian.putHalf(y, D_OFFSET, maxScale / q4scale);
        } else {
            for (int j = 0; j < QK_K / 16; ++j) {
                y[SCALES_OFFSET + j] = 0;
            }
            d = LittleEndian.putHalf(y, D_OFFSET, 0.f);
        }
        float dmin;
        if (maxMin > 0) {
            float iscale = q4scale / maxMin;
            for (int j = 0; j < QK_K / 16; ++j) {
                int l = nearestInt(iscale * s.mins[j]);
                y[SCALES_OFFSET + j] |= (byte) (l << 4);
            }
            dmin = LittleEndian.putHalf(y, DMIN_OFFSET, maxMin / q4scale);
        } else {
            dmin = LittleEndian.putHalf(y, DMIN_OFFSET, 0.f);
        }
        requantizeAndPack(x, xOff, d, dmin, s);
    }

    private static void quantizeBlockImpl(float[] x, int xOff, float[] quantWeights, int qwOff, Scratch s) {
        final byte[] y = s.block;
        final byte[] L = s.L;
        float sigma2 = QuantWeights.sumOfSquares(x, xOff, QK_K) / QK_K;
        for (int j = 0; j < QK_K / 16; ++j) {
            s.sw[j] = QuantWeights.imatrix(s.weights, quantWeights, qwOff + 16 * j, x, xOff + 16 * j, sigma2, 16);
            s.scales[j] = KQuantSearch.makeQkx3Quants(16, 3, x, xOff + 16 * j, s.weights, 0, L, 16 * j, s.mins, j,
                    s.Laux, -0.9f, 0.05f, 36, false);
        }

        float dm = KQuantSearch.makeQpQuants(QK_K / 16, 15, s.scales, 0, s.Ls, 0, s.sw, 0);
        float mm = KQuantSearch.makeQpQuants(QK_K / 16, 15, s.mins, 0, s.Lm, 0, s.sw, 0);

        dm = LittleEndian.putHalf(y, D_OFFSET, dm);
        mm = LittleEndian.putHalf(y, DMIN_OFFSET, mm);
        for (int j = 0; j < QK_K / 16; ++j) {
            y[SCALES_OFFSET + j] = (byte) ((s.Ls[j] & 0xFF) | (s.Lm[j] & 0xFF) << 4);
        }
        requantizeAndPack(x, xOff, dm, mm, s);
    }

    /** Shared tail of both paths: requantize with the stored (fp16-rounded) scales and pack the 2-bit planes. */
    private static void requantizeAndPack(float[] x, int xOff, float dAll, float dminAll, Scratch s) {
        final byte[] y = s.block;
        final byte[] L = s.L;
        for (int j = 0; j < QK_K / 16; ++j) {
            int sc = y[SCALES_OFFSET + j] & 0xFF;
            final float d = dAll * (sc & 0xF);
            if (d == 0) {
                continue;
            }
            final float dm = dminAll * (sc >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt((x[xOff + 16 * j + ii] + dm) / d);
                l = Math.max(0, Math.min(3, l));
                L[16 * j + ii] = (byte) l;
            }
        }
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                y[QS_OFFSET + j / 4 + l] = (byte) (L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4)
                        | (L[j + l + 96] << 6));
            }
        }
    }

    /** {@code dequantize_row_q2_K}. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        byte[] x = SCRATCH.get().block;
        int y = dstOff;
        for (int i = 0; i < n / QK_K; i++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcOff + (long) i * BLOCK_BYTES, x, 0, BLOCK_BYTES);
            final float d = LittleEndian.getHalf(x, D_OFFSET);
            final float min = LittleEndian.getHalf(x, DMIN_OFFSET);
            int q = QS_OFFSET;
            int is = 0;
            for (int n128 = 0; n128 < QK_K; n128 += 128) {
                int shift = 0;
                for (int j = 0; j < 4; ++j) {
                    int sc = x[SCALES_OFFSET + is++] & 0xFF;
                    float dl = d * (sc & 0xF);
                    float ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l) {
                        dst[y++] = dl * (((x[q + l] & 0xFF) >> shift) & 3) - ml;
                    }
                    sc = x[SCALES_OFFSET + is++] & 0xFF;
                    dl = d * (sc & 0xF);
                    ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l) {
                        dst[y++] = dl * (((x[q + l + 16] & 0xFF) >> shift) & 3) - ml;
                    }
                    shift += 2;
                }
                q += 32;
            }
        }
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        FloatVector acc = VectorDequant.zero();
        for (int i = 0; i < n / QK_K; i++) {
            long b = wOff + (long) i * BLOCK_BYTES;
            final float d = HalfFloat.fp16ToFp32(w.get(LittleEndian.SHORT, b + D_OFFSET));
            final float min = HalfFloat.fp16ToFp32(w.get(LittleEndian.SHORT, b + DMIN_OFFSET));
            int xi = xOff + i * QK_K;
            int is = 0;
            for (int half = 0; half < 2; half++) {
                ByteVector q0 = VectorDequant.load16(w, b + QS_OFFSET + 32 * half);
                ByteVector q1 = VectorDequant.load16(w, b + QS_OFFSET + 32 * half + 16);
                for (int shift = 0; shift < 8; shift += 2) {
                    int sc = w.get(ValueLayout.JAVA_BYTE, b + SCALES_OFFSET + is++) & 0xFF;
                    acc = VectorDequant.fma16(q0.lanewise(VectorOperators.LSHR, shift).and((byte) 3),
                            d * (sc & 0xF), -(min * (sc >> 4)), x, xi, acc);
                    sc = w.get(ValueLayout.JAVA_BYTE, b + SCALES_OFFSET + is++) & 0xFF;
                    acc = VectorDequant.fma16(q1.lanewise(VectorOperators.LSHR, shift).and((byte) 3),
                            d * (sc & 0xF), -(min * (sc >> 4)), x, xi + 16, acc);
                    xi += 32;
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

    /** x = d·(sc & 15)·q − dmin·(sc >> 4) per 16 elements. */
    private static void decodeBlockVector(MemorySegment w, long p, float[] dst, int y) {
        float d = VectorDequant.half(w, p + D_OFFSET);
        float min = VectorDequant.half(w, p + DMIN_OFFSET);
        int is = 0;
        for (int half = 0; half < 2; half++) {
            long q = p + QS_OFFSET + 32 * half;
            ByteVector q0 = VectorDequant.load16(w, q);
            ByteVector q1 = VectorDequant.load16(w, q + 16);
            for (int j = 0; j < 4; j++) {
                int shift = 2 * j;
                int sc = VectorDequant.byteAt(w, p + SCALES_OFFSET + is++);
                VectorDequant.store16Sub(q0.lanewise(VectorOperators.LSHR, shift).and((byte) 3), d * (sc & 0xF),
                        min * (sc >> 4), dst, y);
                sc = VectorDequant.byteAt(w, p + SCALES_OFFSET + is++);
                VectorDequant.store16Sub(q1.lanewise(VectorOperators.LSHR, shift).and((byte) 3), d * (sc & 0xF),
                        min * (sc >> 4), dst, y + 16);
                y += 32;
            }
        }
    }
}
