package io.falconq.jobs.intquant;

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

    public boolean needsCalibration() {
        return this != RTN;
    }
}
