package io.falconq.core.quant;

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
 * Rows of 16-bit floats, the loops {@link F16Codec} and {@link Bf16Codec} share: the two formats differ only in how
 * a half widens to a float ({@code bf16} selects which), so quantize, the scalar dot and the vector dot are written
 * once. Each codec passes a constant, which C2 folds where it inlines these bodies.
 */
final class HalfRows {
    /** One half per float lane. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class,
            VectorShape.forBitSize(Math.max(64, LANES * 16)));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private HalfRows() {
    }

    /** {@code GGML_FP32_TO_FP16} or {@code GGML_FP32_TO_BF16} of each float into {@code dst}. */
    static void quantize(float[] src, int srcOff, int n, MemorySegment dst, long dstOff, boolean bf16) {
        for (int j = 0; j < n; j++) {
            float f = src[srcOff + j];
            dst.set(LittleEndian.SHORT, dstOff + 2L * j, bf16 ? HalfFloat.fp32ToBf16(f) : HalfFloat.fp32ToFp16(f));
        }
    }

    /** Element {@code j} of the row at {@code off} as a float. */
    static float element(MemorySegment w, long off, int j, boolean bf16) {
        short h = w.get(LittleEndian.SHORT, off + 2L * j);
        return bf16 ? HalfFloat.bf16ToFp32(h) : HalfFloat.fp16ToFp32(h);
    }

    /** {@code sum} plus w_j·x_{xOff+j} for j in [from, n), added in element order (the readable reference). */
    static float dotScalar(MemorySegment w, long wOff, float[] x, int xOff, int from, int n, float sum,
                           boolean bf16) {
        for (int j = from; j < n; j++) {
            sum += element(w, wOff, j, bf16) * x[xOff + j];
        }
        return sum;
    }

    /** Σ w_j·x_{xOff+j}: fused multiply-adds on float lanes, then the scalar tail. */
    static float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n, boolean bf16) {
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (int upper = F.loopBound(n); j < upper; j += LANES) {
            ShortVector h = ShortVector.fromMemorySegment(S, w, wOff + 2L * j, ByteOrder.LITTLE_ENDIAN);
            FloatVector wv = bf16 ? bf16ToFloats(h) : fp16ToFloats(h);
            acc = wv.fma(FloatVector.fromArray(F, x, xOff + j), acc);
        }
        return dotScalar(w, wOff, x, xOff, j, n, VectorDequant.sum(acc), bf16);
    }

    /** {@code GGML_BF16_TO_FP32} on LANES halves: a 16-bit shift, exact. */
    static FloatVector bf16ToFloats(ShortVector h) {
        return ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    /**
     * {@code ggml_compute_fp16_to_fp32} on LANES halves at once (no branches, so it vectorizes): normal halves are
     * re-biased by scaling with 2⁻¹¹², subnormals are built as a float above 0.5 and then 0.5 is subtracted.
     */
    static FloatVector fp16ToFloats(ShortVector h) {
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
}
