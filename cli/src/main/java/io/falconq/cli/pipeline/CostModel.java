package io.falconq.cli.pipeline;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.model.FalconH1Config;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.LayerState;

/**
 * How long and how much memory each pipeline step takes, from the amount of work it does and throughput
 * constants measured with falconq on this project's build machine (2 cores, JDK 25, shared with other builds).
 * The constants are CPU nanoseconds per unit of work; wall time is CPU time over the threads used. They are
 * order-of-magnitude predictions (the measured spread between runs on the busy machine was about ±50%), meant to
 * tell a 5-minute job from a 5-hour one and a laptop-sized job from a server-sized one before starting.
 *
 * <p>Measured with {@code CostModelMeasurement} (cli test sources), which times the pipeline's own steps.
 */
public final class CostModel {
    /**
     * Forward pass, CPU ns per weight per token: 0.048–0.073 (mean 0.06) over four evaluations of 512 tokens of the
     * 0.5B synthetic checkpoint (BF16 original and its w8/w4/w4-clip GPTQ folders), 2 threads, model loading
     * included. Small models pay more per weight (the tiny model: 0.5, its matrices are too small to amortise the
     * per-window work), so times for sizes below 0.5B are underestimates.
     */
    static final double FORWARD_NS_PER_WEIGHT_TOKEN = 0.06;

    /**
     * Conversion, CPU ns per element written in each type: {@code GgufConversion.run} over the 0.5B synthetic
     * checkpoint ({@code falconq synth --config falcon-h1-0.5b.json}, 521 M weights, BF16), 2 threads, process CPU
     * time per mix: F16 5.2, Q4_0 11.2, Q8_0 14.8, Q3_K_M 56, Q6_K 83, Q5_K_M 107, Q2_K 116, Q4_K_M 117 (from the
     * CLI, JVM start included). Per type: the mix's figure for its main type (Q3_K below Q3_K_M's 56 because that
     * mix carries Q4_K/Q5_K tensors).
     */
    static double convertNsPerElement(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16 -> 5;
            case Q4_0, Q4_1, Q5_0, Q5_1 -> 11;
            case Q8_0 -> 15;
            case Q3_K -> 50;
            case Q6_K -> 83;
            case Q5_K -> 107;
            case Q2_K -> 110;
            case Q4_K -> 117;
            default -> 150; // IQ4_NL / IQ4_XS: not measured; their search is costlier than Q4_K's
        };
    }

    /**
     * Resident memory of the JVM and runtime beyond mapped weights and activation buffers: the 0.5B original's
     * evaluation peaked at 1790 MB resident for 995 MB of weights and ~140 MB of buffers.
     */
    static final long RUNTIME_BASE_BYTES = 650L << 20;

    private CostModel() {
    }

    /** Seconds of wall time for {@code cpuNanos} of work spread over {@code threads} (capped at the cores). */
    static double wallSeconds(double cpuNanos, int threads) {
        int usable = Math.max(1, Math.min(threads, Runtime.getRuntime().availableProcessors()));
        return cpuNanos / 1e9 / usable;
    }

    /** Weights multiplied per token by the forward pass: every matrix, the embedding row excluded. */
    static long weightsPerToken(FalconH1Config c) {
        FalconH1Config.ParameterCounts p = c.parameterCounts();
        return p.total() - p.embeddings() + (p.lmHead() == 0 ? p.embeddings() : 0);
    }

    /**
     * Working memory of an evaluation or calibration window of {@code ctx} tokens beyond the mapped weights: the
     * forward pass's activation buffers (sized by FalconH1Forward), the window's logits, and every layer's state ({@link LayerState}).
     */
    static long forwardWorkingBytes(FalconH1Config c, int ctx) {
        return ctx * FalconH1Forward.activationBytesPerToken(c) + 4L * ctx * c.vocabSize()
                + c.numLayers() * LayerState.bytes(c, ctx);
    }
}
