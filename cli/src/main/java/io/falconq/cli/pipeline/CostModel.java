package io.falconq.cli.pipeline;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.model.FalconH1Config;

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
     * Forward pass, CPU ns per weight per token: 6.86 CPU-s for 2048 tokens (4 windows of 512) of the tiny model's
     * 6.5 M weights (BF16 checkpoint), 2 threads, machine load ≈ 10.
     */
    static final double FORWARD_NS_PER_WEIGHT_TOKEN = 0.52;

    /**
     * Conversion, CPU ns per element (second, JIT-warm run of {@code GgufConversion.run} over the tiny model,
     * 2 threads): Q8_0 38, Q4_0 45, F16 18, Q6_K 86, Q3_K 81, Q2_K 126, Q4_K 148, Q5_K 224. Grouped here.
     */
    static double convertNsPerElement(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16 -> 18;
            case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 -> 45;
            case Q6_K, Q3_K -> 85;
            case Q2_K -> 125;
            default -> 190; // Q4_K and Q5_K: the qkx2/qkx3 scale searches
        };
    }

    /** Round-to-nearest int quantization, CPU ns per weight (min/max per group, one pass). */
    static final double RTN_NS_PER_WEIGHT = 10;

    /** Hessian accumulation, CPU ns per multiply-add of x·xᵀ (HessianAccumulator, upper triangle). */
    static final double HESSIAN_NS_PER_MAC = 0.6;

    /** GPTQ, CPU ns per multiply-add of its O(out·in²) error feedback and O(in³) Cholesky. */
    static final double GPTQ_NS_PER_MAC = 1.2;

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
     * forward pass's activation buffers (sized by FalconH1Forward), the window's logits, and the KV and SSM states.
     */
    static long forwardWorkingBytes(FalconH1Config c, int ctx) {
        long activations = (long) ctx * (6L * c.hiddenSize() + c.inProjSize() + c.convDim() + c.ssmInnerSize()
                + 2L * c.qSize() + 2L * c.kvSize() + 3L * c.intermediateSize());
        long logits = (long) ctx * c.vocabSize();
        long kv = 2L * c.numLayers() * c.kvSize() * ctx;
        long ssm = (long) c.numLayers() * c.ssmInnerSize() * c.ssmStateSize();
        return 4 * (activations + logits + kv + ssm);
    }
}
