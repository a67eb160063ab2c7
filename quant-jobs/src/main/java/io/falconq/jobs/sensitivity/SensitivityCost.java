package io.falconq.jobs.sensitivity;

import io.falconq.core.calib.LinearRole;
import io.falconq.core.convert.recipe.FallbackChain;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.jobs.intquant.IntQuantCost;
import io.falconq.core.model.FalconH1Config;
import io.falconq.runtime.LayerState;
import io.falconq.runtime.eval.EvalProtocol;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What a direct measurement costs, counted from the job's own loop ({@link SensitivityJob}, {@link DownstreamKld}):
 * <pre>
 *   layer-token runs = T · (L + Σ_tensors k_t · (L − s_t))          (direct; the other methods: {@link #plan})
 *   head-token runs  = S · (2 + Σ_tensors k_t)
 * </pre>
 * with T = chunks × ctx tokens run, S = chunks × (ctx − 1 − ctx/2) scored positions, L layers, k_t the distinct
 * concrete types tensor t takes (after llama-quantize's fallbacks), and s_t where its re-run starts: its layer for a
 * layer's linear, 0 for token_embd, L for output (the head only). The first L and 2 are the reference pass and
 * the floor. A layer-token run costs the layer's linear weights plus ctx·(q size) attention multiply-adds; a
 * head-token run V·H. Candidates are encoded once each (every weight of the model × the types).
 *
 * <p>Disk (work folder): (L + 1) residual stores of T × H floats and S log-probability records of 2·V bytes.
 * Memory: the mapped model, one encoded candidate, one window's buffers (the forward pass's, a residual, the
 * window's records and logits: S/chunks × V × 6 bytes).
 */
public final class SensitivityCost {
    /**
     * CPU ns per multiply-add of a downstream re-run: direct Q4_K on the synthetic 0.5B, 2 chunks of 512, the first
     * layer's tensors (36 layers + head each, 4.9e11 multiply-adds) took 12.5–13.2 CPU-s each (BENCHMARKS.md, issue 15).
     */
    static final double NS_PER_MAC = 0.027;
    /** CPU ns per weight of encoding a candidate: the same run's token_embd (33.6 M weights, Q4_K) took 5.2 CPU-s more. */
    static final double ENCODE_NS_PER_WEIGHT = 150;

    private SensitivityCost() {
    }

    /**
     * @param tensors        quantizable tensors measured
     * @param measurements   (tensor, concrete type) pairs run end to end
     * @param layerTokenRuns decoder-layer runs × tokens
     * @param headTokenRuns  LM-head runs × scored tokens
     * @param macs           multiply-adds in all
     * @param diskBytes      the reference cache
     * @param cpuSeconds     predicted CPU time
     * @param wallSeconds    predicted wall time with the given threads
     */
    public record Plan(int tensors, int measurements, double layerTokenRuns, double headTokenRuns, double macs,
                       long diskBytes, double cpuSeconds, double wallSeconds) {
    }

    /** The distinct concrete types a row of {@code rowLength} takes for the requested types. */
    static Set<GgmlType> concreteTypes(List<GgmlType> requested, long rowLength) {
        Set<GgmlType> out = EnumSet.noneOf(GgmlType.class);
        for (GgmlType t : requested) {
            out.add(t.isQuantized() ? FallbackChain.resolve(t, rowLength, "tensor").type() : t);
        }
        return out;
    }

    /**
     * The plan of a run. {@link SensitivityJob.Method#PROBE}: every tensor runs end to end twice (k_t = 2);
     * {@link SensitivityJob.Method#LAYER_GAIN}: per layer Σ k_t runs of that layer alone plus two end-to-end runs,
     * token_embd and output twice each.
     */
    public static Plan plan(FalconH1Config c, List<GgmlType> types, SensitivityJob.Method method, int chunks, int ctx,
                            int threads) {
        boolean direct = method == SensitivityJob.Method.DIRECT;
        int layers = c.numLayers();
        long tokens = (long) chunks * ctx;
        long scored = (long) chunks * EvalProtocol.LLAMA_CPP.scoredPerWindow(ctx);
        long[][] shapes = IntQuantCost.linearShapes(c);
        int tensors = 2;
        // token_embd (re-run from the embedding) and output (head only), both rows of H
        int kGlobal = concreteTypes(types, c.hiddenSize()).size();
        long table = (long) c.vocabSize() * c.hiddenSize();
        int ends = direct ? kGlobal : kGlobal >= 3 ? 2 : 1;
        int measurements = 2 * ends;
        double layerRuns = layers + (double) ends * layers;
        double headRuns = 2 + 2.0 * ends;
        double encodeWeights = 2.0 * kGlobal * table;
        for (int l = 0; l < layers; l++) {
            int layerTypes = 0;
            int probes = 0;
            for (int i = 0; i < LinearRole.perLayer().length; i++) {
                int encoded = concreteTypes(types, shapes[i][1]).size();
                tensors++;
                layerTypes += encoded;
                probes += encoded >= 3 ? 2 : 1;
                encodeWeights += (double) encoded * shapes[i][0] * shapes[i][1];
            }
            int endToEnd = switch (method) {
                case DIRECT -> layerTypes;
                case PROBE -> probes;
                case LAYER_GAIN -> 2;
            };
            measurements += endToEnd;
            layerRuns += (double) endToEnd * (layers - l) + (method == SensitivityJob.Method.LAYER_GAIN ? layerTypes : 0);
            headRuns += endToEnd;
        }
        double layerMacs = IntQuantCost.layerLinearWeights(c) + (double) ctx * c.qSize();
        double macs = layerRuns * tokens * layerMacs + headRuns * scored * table;
        double cpu = (macs * NS_PER_MAC + encodeWeights * ENCODE_NS_PER_WEIGHT) / 1e9;
        int usable = Math.max(1, Math.min(threads, Runtime.getRuntime().availableProcessors()));
        long disk = DownstreamKld.cacheBytes(c, chunks, ctx, scored);
        return new Plan(tensors, measurements, layerRuns * tokens, headRuns * scored, macs, disk, cpu, cpu / usable);
    }

    /** Heap the job needs beyond the mapped model: one window's buffers and states and the largest candidate. */
    public static long heapBytes(FalconH1Config c, int chunks, int ctx) {
        long scoredPerChunk = EvalProtocol.LLAMA_CPP.scoredPerWindow(ctx);
        long perToken = 8L * c.hiddenSize() + c.inProjSize() + c.convDim() + 3L * c.ssmInnerSize() + 3L * c.qSize()
                + 2L * c.kvSize() + 2L * c.intermediateSize();
        long window = 4L * ctx * perToken + LayerState.bytes(c, ctx) + scoredPerChunk * c.vocabSize() * (4L + 2L + 8L);
        long largest = 2L * c.vocabSize() * c.hiddenSize(); // F16 candidate of the embedding
        return window + largest;
    }
}
