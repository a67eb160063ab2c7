package io.falconq.core.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Whether codecs (and the runtime kernels built on them) take their Vector API paths, read once at class load.
 * {@code -Dfalconq.vector=false} forces the scalar reference paths everywhere, as Llama3.java's
 * {@code llama.VectorBitSize=0} does. The vector paths are written once against {@link #FLOAT_SPECIES}, so one body
 * covers 128-, 256- and 512-bit hardware; they need 4 to 16 float lanes (128 to 512 bits), otherwise the scalar path
 * is used.
 */
public final class VectorMode {
    /** Float species every vector path is written against. */
    public static final VectorSpecies<Float> FLOAT_SPECIES = FloatVector.SPECIES_PREFERRED;

    /** True unless {@code falconq.vector=false} or the preferred vector width is outside 128..512 bits. */
    public static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("falconq.vector", "true"))
            && supportedWidth();

    private VectorMode() {
    }

    /** Lane counts the vector paths can handle: byte loads are 16 lanes wide and split into float parts. */
    static boolean supportedWidth() {
        int lanes = FLOAT_SPECIES.length();
        return lanes >= 4 && lanes <= 16;
    }
}
