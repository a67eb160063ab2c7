package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static io.falconq.core.quant.VectorDequant.F;
import static io.falconq.core.quant.VectorDequant.LANES;

/**
 * GGML_TYPE_F16: IEEE half per element. Quantize is {@code ggml_fp32_to_fp16_row} and dequantize
 * {@code GGML_FP16_TO_FP32} per element, both via {@link HalfFloat}.
 */
public final class F16Codec implements BlockCodec {
    public static final int VALUE_OFFSET = 0;
    public static final int VALUE_BYTES = 2;

    static final F16Codec INSTANCE = new F16Codec();

    /** One half per float lane. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class,
            VectorShape.forBitSize(Math.max(64, LANES * 16)));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private F16Codec() {
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public boolean usesImportance() {
        return false;
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        RowChecks.quantize(this, src, srcOff, n, importance);
        for (int j = 0; j < n; j++) {
            dst.set(LittleEndian.SHORT, dstOff + 2L * j, HalfFloat.fp32ToFp16(src[srcOff + j]));
        }
    }

    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        RowChecks.dequantize(this, dst, dstOff, n);
        for (int j = 0; j < n; j++) {
            dst[dstOff + j] = HalfFloat.fp16ToFp32(src.get(LittleEndian.SHORT, srcOff + 2L * j));
        }
    }

    @Override
    public float dotScalar(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        RowChecks.dot(this, x, xOff, n);
        float sum = 0;
        for (int j = 0; j < n; j++) {
            sum += HalfFloat.fp16ToFp32(w.get(LittleEndian.SHORT, wOff + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

    @Override
    public long firstInvalidBlock(MemorySegment w, long off, int n) {
        return RowChecks.firstNonFiniteFp16Field(w, off, n, VALUE_BYTES, VALUE_OFFSET);
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        RowChecks.dot(this, x, xOff, n);
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (int upper = F.loopBound(n); j < upper; j += LANES) {
            ShortVector h = ShortVector.fromMemorySegment(S, w, wOff + 2L * j, ByteOrder.LITTLE_ENDIAN);
            acc = toFloats(h).fma(FloatVector.fromArray(F, x, xOff + j), acc);
        }
        float sum = VectorDequant.sum(acc);
        for (; j < n; j++) {
            sum += HalfFloat.fp16ToFp32(w.get(LittleEndian.SHORT, wOff + 2L * j)) * x[xOff + j];
        }
        return sum;
    }

    /**
     * {@code ggml_compute_fp16_to_fp32} on LANES halves at once (no branches, so it vectorizes): normal halves are
     * re-biased by scaling with 2⁻¹¹², subnormals are built as a float above 0.5 and then 0.5 is subtracted.
     */
    static FloatVector toFloats(ShortVector h) {
        IntVector w = ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16);
        IntVector sign = w.and(0x80000000);
        IntVector twoW = w.add(w);
        FloatVector normalized = twoW.lanewise(VectorOperators.LSHR, 4).add(0xE0 << 23).reinterpretAsFloats()
                .mul(0x1.0p-112f);
        FloatVector denormalized = twoW.lanewise(VectorOperators.LSHR, 17).or(126 << 23).reinterpretAsFloats()
                .sub(0.5f);
        VectorMask<Integer> isDenormal = twoW.compare(VectorOperators.ULT, 1 << 27);
        IntVector bits = normalized.reinterpretAsInts().blend(denormalized.reinterpretAsInts(), isDenormal);
        return bits.or(sign).reinterpretAsFloats();
    }

    /** {@link Float#float16ToFloat} is a JIT intrinsic (vcvtph2ps) and C2 vectorises this loop. */
    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        RowChecks.dequantize(this, dst, dstOff, n);
        for (int j = 0; j < n; j++) {
            dst[dstOff + j] = Float.float16ToFloat(src.get(LittleEndian.SHORT, srcOff + 2L * j));
        }
    }
}
