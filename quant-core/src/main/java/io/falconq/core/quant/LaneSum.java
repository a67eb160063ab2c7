package io.falconq.core.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Sum of a vector's lanes in a fixed order. {@code reduceLanes(ADD)} leaves the order to the implementation, and
 * the interpreter and C2 do use different orders, so a result would depend on how warm the JIT is; outputs that
 * must be byte-identical across runs (GPTQ Hessians, codec dots feeding the runtime) sum through here instead.
 */
public final class LaneSum {
    private static final VectorSpecies<Float> CACHED = VectorMode.FLOAT_SPECIES;
    /** BUTTERFLY[s] exchanges lanes j and j ^ (1 << s). */
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] BUTTERFLY =
            new VectorShuffle[Integer.numberOfTrailingZeros(CACHED.length())];

    static {
        for (int s = 0; s < BUTTERFLY.length; s++) {
            int bit = 1 << s;
            BUTTERFLY[s] = VectorShuffle.fromOp(CACHED, j -> j ^ bit);
        }
    }

    private LaneSum() {
    }

    public static float sum(FloatVector v) {
        if (v.species() != CACHED) {
            return sequential(v);
        }
        for (int s = BUTTERFLY.length - 1; s >= 0; s--) {
            v = v.add(v.rearrange(BUTTERFLY[s]));
        }
        return v.lane(0);
    }

    private static float sequential(FloatVector v) {
        float[] lanes = v.toArray();
        float sum = 0f;
        for (float x : lanes) {
            sum += x;
        }
        return sum;
    }
}
