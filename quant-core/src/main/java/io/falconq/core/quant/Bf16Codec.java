package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import jdk.incubator.vector.ShortVector;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static io.falconq.core.quant.VectorDequant.F;
import static io.falconq.core.quant.VectorDequant.LANES;

/**
 * GGML_TYPE_BF16: the upper 16 bits of a float32. Quantize is {@code ggml_fp32_to_bf16_row_ref} (what
 * {@code ggml_quantize_chunk} calls: round to nearest even, quiet NaN), dequantize {@code GGML_BF16_TO_FP32}; the
 * loops shared with F16 are in {@link HalfRows}.
 */
public final class Bf16Codec extends BlockCodec {
    public static final int VALUE_OFFSET = 0;
    public static final int VALUE_BYTES = 2;

    static final Bf16Codec INSTANCE = new Bf16Codec();

    private Bf16Codec() {
        super(GgmlType.BF16, WITHOUT_IMATRIX);
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        HalfRows.quantize(src, srcOff, n, dst, dstOff, true);
    }

    /** Exact either way: widening is a 16-bit shift, done on vector lanes unless the vector paths are off. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        int j = 0;
        if (VectorMode.ENABLED) {
            for (int upper = F.loopBound(n); j < upper; j += LANES) {
                ShortVector h = ShortVector.fromMemorySegment(HalfRows.S, src, srcOff + 2L * j,
                        ByteOrder.LITTLE_ENDIAN);
                HalfRows.bf16ToFloats(h).intoArray(dst, dstOff + j);
            }
        }
        for (; j < n; j++) {
            dst[dstOff + j] = HalfRows.element(src, srcOff, j, true);
        }
    }

    @Override
    public float dotScalar(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        return HalfRows.dotScalar(w, wOff, x, xOff, 0, n, 0, true);
    }

    /** {@code ggml_validate_row_data}: a bf16 is inf or NaN when its eight exponent bits are all set. */
    @Override
    public long firstInvalidBlock(MemorySegment w, long off, int n) {
        for (int j = 0; j < n; j++) {
            if ((w.get(LittleEndian.SHORT, off + 2L * j) & 0x7f80) == 0x7f80) {
                return j;
            }
        }
        return -1;
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        return HalfRows.dotVector(w, wOff, x, xOff, n, true);
    }

    /** {@link #dequantizeRow} already widens on vector lanes. */
    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        dequantizeRow(src, srcOff, dst, dstOff, n);
    }
}
