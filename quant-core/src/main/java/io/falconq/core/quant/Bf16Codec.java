package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static io.falconq.core.quant.VectorDequant.F;
import static io.falconq.core.quant.VectorDequant.LANES;

/**
 * GGML_TYPE_BF16: the upper 16 bits of a float32. Quantize is {@code ggml_fp32_to_bf16_row_ref} (what
 * {@code ggml_quantize_chunk} calls: round to nearest even, quiet NaN), dequantize {@code GGML_BF16_TO_FP32}.
 */
public final class Bf16Codec implements BlockCodec {
    public static final int VALUE_OFFSET = 0;
    public static final int VALUE_BYTES = 2;

    static final Bf16Codec INSTANCE = new Bf16Codec();

    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class,
            VectorShape.forBitSize(Math.max(64, LANES * 16)));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private Bf16Codec() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public boolean usesImportance() {
        return false;
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        RowChecks.quantize(this, src, srcOff, n, importance);
        for (int j = 0; j < n; j++) {
            dst.set(LittleEndian.SHORT, dstOff + 2L * j, HalfFloat.fp32ToBf16(src[srcOff + j]));
        }
    }

    /** Exact either way: widening is a 16-bit shift, done on vector lanes unless the vector paths are off. */
    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        RowChecks.dequantize(this, dst, dstOff, n);
        int j = 0;
        if (VectorMode.ENABLED) {
            for (int upper = F.loopBound(n); j < upper; j += LANES) {
                ShortVector h = ShortVector.fromMemorySegment(S, src, srcOff + 2L * j, ByteOrder.LITTLE_ENDIAN);
                ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats().intoArray(dst, dstOff + j);
            }
        }
        for (; j < n; j++) {
            dst[dstOff + j] = HalfFloat.bf16ToFp32(src.get(LittleEndian.SHORT, srcOff + 2L * j));
        }
    }

    @Override
    public float dotScalar(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        RowChecks.dot(this, x, xOff, n);
        float sum = 0;
        for (int j = 0; j < n; j++) {
            sum += HalfFloat.bf16ToFp32(w.get(LittleEndian.SHORT, wOff + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

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
        RowChecks.dot(this, x, xOff, n);
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (int upper = F.loopBound(n); j < upper; j += LANES) {
            ShortVector h = ShortVector.fromMemorySegment(S, w, wOff + 2L * j, ByteOrder.LITTLE_ENDIAN);
            FloatVector wv = ((IntVector) h.convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            acc = wv.fma(FloatVector.fromArray(F, x, xOff + j), acc);
        }
        float sum = VectorDequant.sum(acc);
        for (; j < n; j++) {
            sum += HalfFloat.bf16ToFp32(w.get(LittleEndian.SHORT, wOff + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

    /** {@link #dequantizeRow} already widens on vector lanes. */
    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        dequantizeRow(src, srcOff, dst, dstOff, n);
    }
}
