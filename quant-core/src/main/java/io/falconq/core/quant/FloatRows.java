package io.falconq.core.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Source weights as float32 rows for conversion: the finiteness scan, with a Vector API path (exact: it only tests
 * exponent bits) next to the scalar loop.
 */
public final class FloatRows {
    private static final VectorSpecies<Float> F = VectorMode.FLOAT_SPECIES;
    private static final int L = F.length();
    /** The exponent bits as a vector constant: with scalar arguments ({@code and(int)}, {@code compare(EQ, int)}) C2
     *  sometimes left these operations on the Vector API's allocating Java fallback (see LegacyQuantLanes). */
    private static final IntVector EXPONENT = IntVector.broadcast(VectorSpecies.of(int.class, F.vectorShape()), 0x7f800000);

    private FloatRows() {
    }

    /** Index of the first inf or NaN in {@code a[from, to)}, or −1. */
    public static int firstNonFinite(float[] a, int from, int to) {
        int i = from;
        if (VectorMode.ENABLED) {
            for (int bound = to - (to - from) % L; i < bound; i += L) {
                IntVector exp = FloatVector.fromArray(F, a, i).reinterpretAsInts().lanewise(VectorOperators.AND, EXPONENT);
                if (exp.compare(VectorOperators.EQ, EXPONENT).anyTrue()) {
                    break; // the scalar loop below finds the exact index
                }
            }
        }
        for (; i < to; i++) {
            if (!Float.isFinite(a[i])) {
                return i;
            }
        }
        return -1;
    }
}
