package io.falconq.jobs.intquant;

import io.falconq.model.FalconH1Config;
import io.falconq.runtime.LayerState;

/**
 * What an int-quant job costs, from the same sizes the job allocates ({@link LayerSequentialRun},
 * {@link LayerWork}, {@link SequentialLayerMethod}): the planner prints these before a run, so a user knows whether
 * a 34B fits the machine.
 *
 * <p>Resident memory at the peak of a layer (the job keeps nothing of earlier layers but their staged files):
 * <pre>
 *   mapped weights of one layer (stored dtype, released after the layer)
 * + per layer, as float: the dequantized linears the layer runs with (4 B/weight) and their quantized codes
 *   until staged (4 B/weight + scales), plus one linear's working float copy
 * + the largest GPTQ Hessian group: its accumulator and the factorisation's work array, 2 · 8 · in² bytes
 * + the forward's buffers for one sequence of ctx tokens, one layer state, and the I/O buffers of the three
 *   activation stores (residual in, residual out, stage: one sequence each)
 * </pre>
 * The activation stores themselves are files (sequences × ctx × width floats) read through the page cache.
 */
public final class IntQuantCost {
    private IntQuantCost() {
    }

    /** Linear (out, in) shapes of one layer, in {@link io.falconq.calib.LinearRole#perLayer()} order. */
    public static long[][] linearShapes(FalconH1Config c) {
        long h = c.hiddenSize();
        return new long[][] {{c.inProjSize(), h}, {h, c.ssmInnerSize()}, {c.qSize(), h}, {c.kvSize(), h},
                {c.kvSize(), h}, {h, c.qSize()}, {c.intermediateSize(), h}, {c.intermediateSize(), h},
                {h, c.intermediateSize()}};
    }

    /** Linear weights of one layer. */
    public static long layerLinearWeights(FalconH1Config c) {
        long n = 0;
        for (long[] s : linearShapes(c)) {
            n += s[0] * s[1];
        }
        return n;
    }

    /** The inputs with a Hessian of their own: (in) of q/k/v/in_proj, out_proj, o_proj, gate/up, down. */
    static long[] hessianInputs(FalconH1Config c) {
        return new long[] {c.hiddenSize(), c.ssmInnerSize(), c.qSize(), c.hiddenSize(), c.intermediateSize()};
    }

    /** Floats per token kept between parts (attention heads + gated SSM output, or the MLP activation). */
    static int stageWidth(FalconH1Config c) {
        return Math.max(c.qSize() + c.ssmInnerSize(), c.intermediateSize());
    }

    /** Peak resident bytes of the job beyond the JVM's own, by the formula in the class comment. */
    public static long peakBytes(FalconH1Config c, IntQuantMethod method, int bits, int ctx, int storedBytesPerWeight) {
        long p = layerLinearWeights(c);
        long largestLinear = 0;
        for (long[] s : linearShapes(c)) {
            largestLinear = Math.max(largestLinear, s[0] * s[1]);
        }
        long weights = p * storedBytesPerWeight;
        long quantized = 4 * p + 4 * p + 4 * largestLinear;
        long hessian = 0;
        if (method == IntQuantMethod.GPTQ || method == IntQuantMethod.AWQ) {
            for (long in : hessianInputs(c)) {
                hessian = Math.max(hessian, 2 * 8 * in * in);
            }
        }
        if (method == IntQuantMethod.AWQ) {
            quantized += 4 * p; // every linear's working copy at once: the folds edit them together
        }
        long buffers = 0;
        if (method.needsCalibration()) {
            long perToken = 6L * c.hiddenSize() + c.inProjSize() + c.convDim() + c.ssmInnerSize() + 2L * c.qSize()
                    + 2L * c.kvSize() + 3L * c.intermediateSize();
            buffers = 4L * ctx * perToken + LayerState.bytes(c, ctx)
                    + 4L * ctx * (3L * c.hiddenSize() + 2L * stageWidth(c));
        }
        return weights + quantized + hessian + buffers;
    }

    /** Bytes of the activation store files in the work folder (disk, not memory). */
    public static long spillBytes(FalconH1Config c, int sequences, int ctx) {
        return SequenceStore.bytes(sequences, ctx, 2 * c.hiddenSize() + stageWidth(c));
    }

    /** Multiply-adds of the job's one forward pass over the calibration tokens (every layer, no LM head). */
    public static double forwardMacs(FalconH1Config c, long tokens) {
        return (double) tokens * c.numLayers() * layerLinearWeights(c);
    }

    /** Multiply-adds of the Hessian accumulation (upper triangles) over the calibration tokens. */
    public static double hessianMacs(FalconH1Config c, long tokens) {
        double perToken = 0;
        for (long in : hessianInputs(c)) {
            perToken += in * (double) (in + 1) / 2;
        }
        return tokens * perToken * c.numLayers();
    }

    /** Multiply-adds of GPTQ itself: per linear, the column updates (out · in²/2) and the factorisation (in³/3). */
    public static double gptqMacs(FalconH1Config c) {
        double total = 0;
        for (long[] s : linearShapes(c)) {
            total += s[0] * (double) s[1] * s[1] / 2;
        }
        for (long in : hessianInputs(c)) {
            total += (double) in * in * in / 3 * 2; // Cholesky and the triangular inverse
        }
        return total * c.numLayers();
    }
}
