package io.falconq.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API pieces of the legacy {@code quantize_row_*_ref} ports (so far Q8_0; Q4_0's scalar
 * port measured faster than a vector version) that give bit-identical results to
 * the scalar code: a max of absolute values is exact in any order, products are the same IEEE float operations lane
 * by lane, and {@code F2I} follows Java's {@code (int)} cast rules. Blocks are 32 floats; every
 * supported species (4 to 16 lanes, see {@link VectorMode}) divides 32.
 */
final class LegacyRowVector {
    static final VectorSpecies<Float> F = VectorMode.FLOAT_SPECIES;
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int QK = 32;

    private LegacyRowVector() {
    }

    /** max |src[off+j]| over the 32-float block; NaN if the block holds a NaN. */
    static float absMax32(float[] src, int off) {
        FloatVector acc = FloatVector.fromArray(F, src, off).abs();
        for (int k = F.length(); k < QK; k += F.length()) {
            acc = acc.max(FloatVector.fromArray(F, src, off + k).abs());
        }
        return acc.reduceLanes(VectorOperators.MAX);
    }

    /**
     * {@code (int) GgmlRounding.roundf(src[off+j] * id)} for the 32 floats of a block, into {@code out[0..32)}.
     * roundf is computed as r = trunc(v), plus sign(v) when |v − r| ≥ 0.5 (v − r is exact for floats); like the scalar
     * port, values with |v| ≥ 2²³ (already integral) and NaN are left to the plain cast.
     */
    static void roundfScaled32(float[] src, int off, float id, int[] out) {
        for (int k = 0; k < QK; k += F.length()) {
            FloatVector v = FloatVector.fromArray(F, src, off + k).mul(id);
            IntVector t = (IntVector) v.convert(VectorOperators.F2I, 0);
            FloatVector r = (FloatVector) t.convert(VectorOperators.I2F, 0);
            VectorMask<Float> adjust = v.sub(r).abs().compare(VectorOperators.GE, 0.5f)
                    .and(v.abs().compare(VectorOperators.LT, 0x1.0p23f));
            VectorMask<Float> negative = v.compare(VectorOperators.LT, 0.0f);
            VectorMask<Integer> up = adjust.andNot(negative).cast(I);
            VectorMask<Integer> down = adjust.and(negative).cast(I);
            t.add(1, up).sub(1, down).intoArray(out, k);
        }
    }
}
