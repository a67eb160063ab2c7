package io.falconq.runtime.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Which kernel implementation runs: the Vector API path (default) or the readable scalar reference beside it.
 * {@code -Dfalconq.vector=false} forces the scalar path everywhere, as {@code llama.VectorBitSize=0} does in
 * Llama3.java; the choice is read once at class initialisation so the JIT can fold the branches away.
 */
public final class KernelMode {
    /** True unless {@code -Dfalconq.vector=false}. */
    public static final boolean VECTOR = !"false".equalsIgnoreCase(System.getProperty("falconq.vector", "true"));

    /** The float species every vector kernel uses (512 bits on AVX-512, 256 on AVX2). */
    public static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    private KernelMode() {
    }

    public static String describe() {
        return VECTOR ? "vector (" + FLOATS.vectorBitSize() + "-bit, " + FLOATS.length() + " floats)" : "scalar";
    }
}
