package io.falconq.jobs.intquant;

import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.core.model.FalconH1Config;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.LayerState;

/**
 * What an int-quant job costs, from the sizes the job allocates ({@link LayerSequentialRun}, {@link LayerWork},
 * {@link SequentialLayerMethod}, {@link AwqLayerMethod}) and rates measured on the job itself: the dry run prints
 * this before a run, so a user knows whether a 34B fits the machine and how long it takes.
 *
 * <p>Resident memory at the peak of a layer (the job keeps nothing of earlier layers but their staged files):
 * <pre>
 *   the JVM's own (code, metaspace, tokenizer library, threads, mapped jars)           {@value #JVM_BASE_BYTES} B
 * + {@value #HEAP_HEADROOM}× the heap churn of one layer (the collector's headroom between the per-layer full
 *   collections): the dequantized linears the layer runs with (4 B/weight) and their packed GPTQ tensors until
 *   staged (bits/8 B/weight), one linear's working float copy (AWQ: all of them), the forward's buffers for one
 *   sequence of ctx tokens, one layer state, and one sequence of each activation store
 * + the Hessians: GPTQ one input group's at a time, 8 · in² bytes, factorised in place; AWQ all five groups'
 * + mapped file pages: one layer of source weights and one 64 MiB chunk of a tensor being copied
 * </pre>
 * The activation stores themselves are files (sequences × ctx × width floats) read through the page cache.
 */
public final class IntQuantCost {
    /**
     * The JVM's own resident memory (code, metaspace, tokenizer library, threads, and its mapped jar, modules and
     * AOT cache): fitted with {@link #HEAP_HEADROOM} to the GPTQ jobs on the synthetic 0.5B (128 × 512 tokens:
     * 894 MiB anonymous, 190 MiB file-backed) and 1.5B-Deep (32 × 512: 1031 + 407 MiB), BENCHMARKS.md issue 14.
     */
    static final long JVM_BASE_BYTES = 860L << 20;
    /** The collector's committed heap over one layer's churn, fitted on the same two runs (1.56). */
    static final double HEAP_HEADROOM = 1.6;
    /**
     * CPU ns per multiply-add of the job's forward pass, with what scales with it in the job's loop (the activation
     * files' reads and writes, collections, the rest): the GPTQ job on the synthetic 0.5B at full depth (128 × 512
     * tokens, 2 threads, quiet machine, f832e4c; BENCHMARKS.md issue 14) spent forward 357.7 + spill io 32.5 + gc and
     * other 15.4 s of its 563.5 s wall, 1022.9 CPU-s in all: at the run's CPU/wall ratio (1.815) 736 CPU-s for its
     * 2.97e13 multiply-adds. The rates below are split from the same run the same way.
     */
    static final double FORWARD_NS_PER_MAC = 0.025;
    /** CPU ns per multiply-add of the Hessian syrk: the same run's statistics phase, 122.6 s (223 CPU-s, 1.05e13). */
    static final double HESSIAN_NS_PER_MAC = 0.021;
    /**
     * CPU ns per multiply-add of GPTQ's column sweeps and factorisations ({@link #gptqMacs}): the same run's solve
     * phase, 30.1 s (54.6 CPU-s for 6.29e11).
     */
    static final double GPTQ_NS_PER_MAC = 0.087;
    /** CPU ns per weight of packing, staging and writing: the same run's write phase, 5.2 s (9.4 CPU-s, 4.5e8). */
    static final double WRITE_NS_PER_WEIGHT = 21;
    /** CPU time over threads × wall time of the job's parallel loops: the same run, 1022.9 / (2 × 563.5). */
    static final double PARALLEL_EFFICIENCY = 0.91;
    /**
     * CPU ns per multiply-add of AWQ's own search ({@link AwqLayerMethod#multiplyAdds}: its candidates' runs of the
     * layer on 2,048 tokens, their round to nearest, the clip search). The AWQ job beside the GPTQ run above
     * (f832e4c) spent solve 624.3 s of 1154.8 s wall, 1978.7 CPU-s in all; its other phases priced at the rates
     * above (974 CPU-s) leave 1005 CPU-s for the search's 2.85e13 multiply-adds, 0.0353 ns. Since 0c9dcee (the clip
     * search in vector lanes, it and the candidates' round to nearest on the job's threads) the search takes 0.756×
     * that CPU time: solve phase 70.5 vs 93.3 CPU-s on the first 4 layers of the same model, 128 × 512, 2 threads,
     * niced at load 12–15 (issue 14, helper s9h4), so 0.0353 × 0.756.
     */
    static final double AWQ_SEARCH_NS_PER_MAC = 0.0267;
    /**
     * The search's CPU time over threads × its wall time, fitted at f832e4c (1005 CPU-s over 2 × 624.3 s: 0.80);
     * kept after the search's serial parts went onto the job's threads, which can only raise it, until a quiet
     * full-depth run refits it.
     */
    static final double AWQ_SEARCH_EFFICIENCY = 0.80;

    private IntQuantCost() {
    }

    /**
     * A job's predicted peak resident memory, disk for its activation files, and CPU and wall time.
     *
     * @param storedBytesPerWeight the source checkpoint's bytes per weight (2 for BF16)
     */
    public record Plan(long peakBytes, long spillBytes, double cpuSeconds, double wallSeconds) {
    }

    public static Plan plan(FalconH1Config c, IntQuantMethod method, IntQuantScheme scheme, int sequences, int ctx,
                            int storedBytesPerWeight, int threads) {
        int n = method.needsCalibration() ? sequences : 0;
        long tokens = (long) n * ctx;
        double nanos = forwardMacs(c, tokens) * FORWARD_NS_PER_MAC;
        double searchNanos = 0;
        if (method == IntQuantMethod.GPTQ) {
            nanos += hessianMacs(c, tokens) * HESSIAN_NS_PER_MAC + gptqMacs(c) * GPTQ_NS_PER_MAC;
        } else if (method == IntQuantMethod.AWQ) {
            // the same forward and Hessians as GPTQ, then AWQ's own search on a bounded token sample and clip search
            nanos += hessianMacs(c, tokens) * HESSIAN_NS_PER_MAC;
            searchNanos = (double) c.numLayers() * AwqLayerMethod.multiplyAdds(c, n, ctx, scheme.groupSize())
                    * AWQ_SEARCH_NS_PER_MAC;
        }
        nanos += (double) layerLinearWeights(c) * c.numLayers() * WRITE_NS_PER_WEIGHT;
        int usable = Math.max(1, Math.min(threads, Runtime.getRuntime().availableProcessors()));
        double wall = usable == 1 ? (nanos + searchNanos) / 1e9
                : nanos / 1e9 / (usable * PARALLEL_EFFICIENCY) + searchNanos / 1e9 / (usable * AWQ_SEARCH_EFFICIENCY);
        return new Plan(peakBytes(c, method, scheme, ctx, storedBytesPerWeight), method.needsCalibration()
                ? spillBytes(c, n, ctx) : 0, (nanos + searchNanos) / 1e9, wall);
    }

    /** Linear (out, in) shapes of one layer, in {@link io.falconq.core.calib.LinearRole#perLayer()} order. */
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

    /** Peak resident bytes of the job, by the formula in the class comment. */
    public static long peakBytes(FalconH1Config c, IntQuantMethod method, IntQuantScheme scheme, int ctx,
                                 int storedBytesPerWeight) {
        long p = layerLinearWeights(c);
        long largestLinear = 0;
        for (long[] s : linearShapes(c)) {
            largestLinear = Math.max(largestLinear, s[0] * s[1]);
        }
        long churn = 4 * p + p * scheme.bits() / 8 + 4 * (method == IntQuantMethod.AWQ ? p : largestLinear);
        if (method.needsCalibration()) {
            churn += ctx * FalconH1Forward.activationBytesPerToken(c) + LayerState.bytes(c, ctx)
                    + 4L * ctx * (3L * c.hiddenSize() + 2L * stageWidth(c));
        }
        long hessian = 0;
        for (long in : hessianInputs(c)) {
            // GPTQ holds one group's Hessian at a time (factorised in place); AWQ's statistics pass all five
            hessian = method == IntQuantMethod.AWQ ? hessian + 8 * in * in
                    : method == IntQuantMethod.GPTQ ? Math.max(hessian, 8 * in * in) : 0;
        }
        long mapped = p * storedBytesPerWeight + GptqFolderWriter.COPY_CHUNK_BYTES;
        return JVM_BASE_BYTES + (long) (HEAP_HEADROOM * churn) + hessian + mapped;
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
