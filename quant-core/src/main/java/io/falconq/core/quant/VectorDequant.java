package io.falconq.core.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The building blocks of every quantized {@code dotVector} and {@code decodeRowVector}: 16 small integer codes in a
 * 128-bit byte vector are widened to floats ({@code 16 / lanes} parts), dequantized in registers as
 * {@code q·scale + bias}, and multiplied into an accumulator with x ({@code fma16}) or stored ({@code store16*}).
 * One body for any float width from 4 to 16 lanes.
 *
 * <p>The {@code store16*} helpers use exactly the float operations of the scalar {@code dequantize_row_*} ports, in
 * the same order: {@code q·d}, or {@code q·d} then {@code ± m} as a separate multiply and add (ggml-base is compiled
 * without FMA contraction), so a vector decode equals the scalar one on every bit, signed zeros included.
 */
final class VectorDequant {
    static final VectorSpecies<Float> F = VectorMode.FLOAT_SPECIES;
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final int LANES = F.length();
    /** Float vectors per 16 codes; clamped to 1 so class init succeeds on unsupported widths (never used there). */
    static final int PARTS = Math.max(1, 16 / LANES);

    /** Lane i ← byte i/8 (and 2 + i/8): spreads two bytes of a Q5 {@code qh} word over 16 lanes. */
    static final VectorShuffle<Byte> QH_LOW = VectorShuffle.fromOp(B16, i -> i / 8);
    static final VectorShuffle<Byte> QH_HIGH = VectorShuffle.fromOp(B16, i -> 2 + i / 8);
    /** Lane i: shift i % 8, so lane i of a spread {@code qh} holds bit i % 8 of its byte in bit 0. */
    private static final ByteVector BIT_SHIFTS = ByteVector.fromArray(B16,
            new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7}, 0);

    private VectorDequant() {
    }

    /** 16 bytes at {@code off} as a byte vector. */
    static ByteVector load16(MemorySegment seg, long off) {
        return ByteVector.fromMemorySegment(B16, seg, off, ByteOrder.LITTLE_ENDIAN);
    }

    /** The fp16 at {@code off} ({@link Float#float16ToFloat}, a JIT intrinsic; the same value as HalfFloat's). */
    static float half(MemorySegment seg, long off) {
        return Float.float16ToFloat(seg.get(LittleEndian.SHORT, off));
    }

    /** The unsigned byte at {@code off}. */
    static int byteAt(MemorySegment seg, long off) {
        return seg.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /** The 5th bits of 16 elements: bit j of the u32 {@code qh} (first 4 bytes of the vector) at bit 4 of lane j. */
    static ByteVector q5HighBits(ByteVector qhBytes, VectorShuffle<Byte> spread) {
        return qhBytes.rearrange(spread).lanewise(VectorOperators.LSHR, BIT_SHIFTS).and((byte) 1)
                .lanewise(VectorOperators.LSHL, 4);
    }

    /** dst[y + i] = q_i · s (int code times float scale, the C expression {@code q*d}). */
    static void store16(ByteVector q, float s, float[] dst, int y) {
        for (int p = 0; p < PARTS; p++) {
            ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(s).intoArray(dst, y + p * LANES);
        }
    }

    /** dst[y + i] = q_i · s + m (multiply, then add: no fused rounding). */
    static void store16Add(ByteVector q, float s, float m, float[] dst, int y) {
        for (int p = 0; p < PARTS; p++) {
            ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(s).add(m).intoArray(dst, y + p * LANES);
        }
    }

    /** dst[y + i] = q_i · s − m. */
    static void store16Sub(ByteVector q, float s, float m, float[] dst, int y) {
        for (int p = 0; p < PARTS; p++) {
            ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(s).sub(m).intoArray(dst, y + p * LANES);
        }
    }

    /** acc + Σ_{i<16} (q_i·scale + bias)·x[xi+i], lane-wise. */
    static FloatVector fma16(ByteVector q, float scale, float bias, float[] x, int xi, FloatVector acc) {
        FloatVector vs = FloatVector.broadcast(F, scale);
        FloatVector vb = FloatVector.broadcast(F, bias);
        for (int p = 0; p < PARTS; p++) {
            FloatVector qf = (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
            FloatVector xv = FloatVector.fromArray(F, x, xi + p * LANES);
            acc = qf.fma(vs, vb).fma(xv, acc);
        }
        return acc;
    }

    /** acc + Σ_{i<16} q_i·scale·x[xi+i], lane-wise. */
    static FloatVector fma16(ByteVector q, float scale, float[] x, int xi, FloatVector acc) {
        FloatVector vs = FloatVector.broadcast(F, scale);
        for (int p = 0; p < PARTS; p++) {
            FloatVector qf = (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
            FloatVector xv = FloatVector.fromArray(F, x, xi + p * LANES);
            acc = qf.mul(vs).fma(xv, acc);
        }
        return acc;
    }

    /**
     * Σ (codes[i]·scale[g] + bias[g])·x[xi+i] over {@code n} codes, g = i / group (group a multiple of 16). The
     * second phase of the K-quant dots: their bit unpacking writes small signed codes to {@code codes} first, so
     * each loop body here stays small enough for C2 to inline every vector operation (one long straight-line body
     * exceeds its node-count inlining cutoff and the vectors get boxed).
     */
    static float dotCodes(byte[] codes, float[] scale, float[] bias, int group, int n, float[] x, int xi) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < n; i += 16) {
            int g = i / group;
            acc = fma16(ByteVector.fromArray(B16, codes, i), scale[g], bias[g], x, xi + i, acc);
        }
        return LaneSum.sum(acc);
    }

    /** Scratch for the unpacked codes and per-group scales of one super-block, one per thread. */
    static final class BlockScratch {
        final byte[] codes = new byte[256];
        final float[] scale = new float[16];
        final float[] bias = new float[16];
        final byte[] header = new byte[16];
    }

    static final ThreadLocal<BlockScratch> BLOCK_SCRATCH = ThreadLocal.withInitial(BlockScratch::new);

    static FloatVector zero() {
        return FloatVector.zero(F);
    }

    static float sum(FloatVector acc) {
        return LaneSum.sum(acc);
    }
}
