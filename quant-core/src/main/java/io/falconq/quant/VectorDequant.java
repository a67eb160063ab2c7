package io.falconq.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The building block of every quantized {@code dotVector}: 16 small integer codes in a 128-bit byte vector are
 * widened to floats ({@code 16 / lanes} parts), dequantized in registers as {@code q·scale + bias}, and multiplied
 * into an accumulator with x. One body for any float width from 4 to 16 lanes.
 */
final class VectorDequant {
    static final VectorSpecies<Float> F = VectorMode.FLOAT_SPECIES;
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final int LANES = F.length();
    /** Float vectors per 16 codes; clamped to 1 so class init succeeds on unsupported widths (never used there). */
    static final int PARTS = Math.max(1, 16 / LANES);

    private VectorDequant() {
    }

    /** 16 bytes at {@code off} as a byte vector. */
    static ByteVector load16(MemorySegment seg, long off) {
        return ByteVector.fromMemorySegment(B16, seg, off, ByteOrder.LITTLE_ENDIAN);
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
