package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * GGML_TYPE_F16: IEEE half per element. Quantize is {@code ggml_fp32_to_fp16_row} and dequantize
 * {@code GGML_FP16_TO_FP32} per element, both via {@link HalfFloat}; the loops shared with BF16 are in
 * {@link HalfRows}.
 */
public final class F16Codec extends BlockCodec {
    public static final int VALUE_OFFSET = 0;
    public static final int VALUE_BYTES = 2;

    static final F16Codec INSTANCE = new F16Codec();

    private F16Codec() {
        super(GgmlType.F16, WITHOUT_IMATRIX, VALUE_OFFSET);
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        HalfRows.quantize(src, srcOff, n, dst, dstOff, false);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int j = 0; j < n; j++) {
            dst[dstOff + j] = HalfFloat.fp16ToFp32(src.get(LittleEndian.SHORT, srcOff + 2L * j));
        }
    }

    @Override
    public float dotScalar(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        return HalfRows.dotScalar(w, wOff, x, xOff, 0, n, 0, false);
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        return HalfRows.dotVector(w, wOff, x, xOff, n, false);
    }

    /** {@link Float#float16ToFloat} is a JIT intrinsic (vcvtph2ps) and C2 vectorises this loop. */
    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        for (int j = 0; j < n; j++) {
            dst[dstOff + j] = Float.float16ToFloat(src.get(LittleEndian.SHORT, srcOff + 2L * j));
        }
    }
}
