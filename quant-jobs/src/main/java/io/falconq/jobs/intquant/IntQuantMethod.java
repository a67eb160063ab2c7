package io.falconq.jobs.intquant;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** How the linears of a GPTQ-layout checkpoint are quantized. */
public enum IntQuantMethod {
    /** Round to nearest with min/max group parameters; no calibration. */
    RTN,
    /** Round to nearest with each group's clipping ratio searched on the importance-weighted error. */
    CLIP,
    /** Activation-aware input-channel scales folded into the preceding op, then Hessian clip. */
    AWQ,
    /** Hessian error feedback (Frantar et al.), layer by layer, true-sequential. */
    GPTQ;

    /** The name {@code quantize --method} takes and quantize_config.json's {@code meta.method} holds. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The method {@code name} spells ({@link #label()}, in any case), if any. */
    public static Optional<IntQuantMethod> ofLabel(String name) {
        return Arrays.stream(values()).filter(m -> m.label().equalsIgnoreCase(name)).findFirst();
    }

    public boolean needsCalibration() {
        return this != RTN;
    }
}
