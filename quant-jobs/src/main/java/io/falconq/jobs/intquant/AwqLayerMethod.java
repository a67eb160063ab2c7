package io.falconq.jobs.intquant;

import io.falconq.core.calib.LinearRole;
import io.falconq.core.calib.LinearRole.InputGroup;
import io.falconq.core.intquant.AwqScaler;
import io.falconq.core.intquant.QuantizedLinear;
import io.falconq.core.intquant.RtnQuantizer;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;
import io.falconq.runtime.LayerPart;
import io.falconq.runtime.LayerWeights;
import io.falconq.runtime.kernel.DenseWeightMatrix;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * AWQ for one decoder layer on the runtime's forward pass, AutoAWQ's way: the layer is searched on the activations
 * of the float model (the statistics pass runs the float layer over every calibration sequence and its output is the
 * next layer's input; no second forward with the quantized layer). The scale of each fold is AutoAWQ's grid search
 * ({@link AwqScaler#searchBy}: 20 candidates from mean|x| and w_mean, duo scaling), each candidate scored by the
 * {@link AwqLoss} of the residual after the part it changes (after the mixer for the mixer's linears, after the MLP
 * for the MLP's), with the candidate's linears quantized as {@code Q(W·s)/s}, run by the runtime on the first
 * {@link #SEARCH_TOKENS} calibration tokens ({@link AwqProbe}). Every candidate is scored with only its own fold
 * quantized: the layer's other linears run as the scaled float weights the folds before left (AutoAWQ's way; the
 * linears are still quantized fold by fold, as soon as no later fold changes them). The folds, in order:
 * <ol>
 *   <li>q, k, v, in_proj ← input_layernorm (the mixer is run);</li>
 *   <li>o_proj ← v_proj rows, one scale per kv channel under GQA (the output projections are run);</li>
 *   <li>out_proj ← mamba.norm, with gate-then-norm only (the output projections are run);</li>
 *   <li>gate, up ← pre_ff_layernorm (the MLP);</li>
 *   <li>down_proj ← up_proj rows (down_proj alone).</li>
 * </ol>
 * A linear is quantized as soon as no later fold changes it: q and k by round to nearest without clipping
 * (AutoAWQ's {@code avoid_clipping}), the others with AutoAWQ's clip search on the Hessian of their scaled input.
 * Scoring a fold against the earlier folds' quantized weights instead (the first version, 6a6c1d0) lets a
 * candidate win by cancelling their error on the 2,048 search tokens, which does not carry over: measured in
 * {@link AwqLoss}.
 *
 * <p>Cost per layer: the statistics pass over all N·T calibration tokens is the forward and the five input
 * Hessians that GPTQ's job makes too; AWQ's own work ({@link #multiplyAdds}) is bounded by the n·T search tokens,
 * n = {@link #searchSequences}, whatever N: per fold G = 20 candidates, each a round to nearest of the fold's linears
 * and a run of the fold's parts, {@code G·(layer − MLP + O·(1 + out_proj fold) + D)} per search token (layer: the
 * whole layer; O the two output projections, D down_proj alone), plus the probe's own float runs and the clip
 * search. Quality and time per loss: {@link AwqLoss}.
 */
public final class AwqLayerMethod {
    /** Calibration tokens every candidate is scored on (whole sequences, at least one). */
    public static final int SEARCH_TOKENS = 2048;

    private static final List<LinearRole> NORM_READERS =
            List.of(LinearRole.ATTN_Q, LinearRole.ATTN_K, LinearRole.ATTN_V, LinearRole.SSM_IN);
    private static final List<LinearRole> GATE_UP = List.of(LinearRole.FFN_GATE, LinearRole.FFN_UP);

    private final LayerWork work;
    private final InputStatistics stats;
    private final AwqProbe probe;
    /** Linears already scaled but not yet quantized: the layer runs with their working float copies. */
    private final EnumSet<LinearRole> pending = EnumSet.noneOf(LinearRole.class);
    private final EnumSet<LinearRole> quantized = EnumSet.noneOf(LinearRole.class);
    private final Map<InputGroup, double[][]> hessians = new EnumMap<>(InputGroup.class);
    /**
     * The scaled float weights of the linears quantized so far, which the candidates of later folds run with
     * ({@link #searchBase}): the same arrays as the working copies, kept past {@link LayerWork#setQuantized}
     * (no copy beyond the plan's one working copy of every linear, {@link IntQuantCost#peakBytes}).
     */
    private final Map<LinearRole, float[]> floatScaled = new EnumMap<>(LinearRole.class);

    private AwqLayerMethod(LayerWork work, InputStatistics stats, AwqProbe probe) {
        this.work = work;
        this.stats = stats;
        this.probe = probe;
    }

    /**
     * Searches, folds and quantizes the layer: all 9 linears end in {@link LayerWork#setQuantized}, and the work's
     * output holds the float layer's output (the next layer's input).
     */
    public static void quantize(LayerWork work, AwqLoss loss) {
        quantize(work, loss, null);
    }

    /** As {@link #quantize(LayerWork, AwqLoss)} with every candidate scored by {@code downstream} (null: by the loss). */
    static void quantize(LayerWork work, AwqLoss loss, AwqProbe.DownstreamLoss downstream) {
        EnumSet<InputGroup> groups = EnumSet.allOf(InputGroup.class);
        groups.remove(InputGroup.FINAL_NORM);
        InputStatistics stats = new InputStatistics(work.layer(), groups, true, work.pool());
        // the float layer over every sequence: the statistics, and its output is the next layer's input
        work.runAll(LayerPart.INPUT_NORM, LayerPart.MLP_OUTPUT, List.of(), stats);
        AwqProbe probe = new AwqProbe(work, loss, downstream, searchSequences(work.sequences(), work.tokens()));
        new AwqLayerMethod(work, stats, probe).run();
    }

    /** Sequences the search scores candidates on: enough for {@link #SEARCH_TOKENS}, at most all. */
    public static int searchSequences(int sequences, int tokens) {
        return Math.min(sequences, Math.max(1, (SEARCH_TOKENS + tokens - 1) / tokens));
    }

    /**
     * Multiply-adds of {@link #quantize} for one layer beyond the forward and the input Hessians over all
     * {@code sequences × tokens} calibration tokens (which the plan prices as GPTQ's): the candidate runs and the
     * probe's float runs on the search tokens, the candidates' round to nearest, and the Hessian clip search (10
     * shrink candidates × {@code groupSize} per weight). Linear layers count {@code out·in} per token, attention
     * {@code qSize·T/2·2} per token, the SSM scan {@code 2·Di·S} per token.
     */
    public static long multiplyAdds(FalconH1Config c, int sequences, int tokens, int groupSize) {
        long h = c.hiddenSize();
        long mixerIn = h * (c.qSize() + 2L * c.kvSize() + c.inProjSize());
        long outputs = h * ((long) c.qSize() + c.ssmInnerSize());
        long down = h * c.intermediateSize();
        long mlp = 3 * down;
        long mixer = mixerIn + (long) tokens * c.qSize() + 2L * c.ssmInnerSize() * c.ssmStateSize()
                + (long) c.convDim() * c.convKernel();
        long layer = mixer + outputs + mlp;
        long outProjFolds = c.ssmRmsNorm() && !c.ssmNormBeforeGate() ? 2 : 1;
        long perCandidate = mixer + outputs + outProjFolds * outputs + mlp + down;
        // the probe: the float layer once, the mixer twice more (kept inputs), the output projections, gate and up
        long probe = layer + 2 * mixer + outputs + 2 * down;
        long searched = (long) searchSequences(sequences, tokens) * tokens;
        long foldWeights = mixerIn + outputs + outProjFolds * outputs + mlp + down;
        long clipped = c.kvSize() * h + (long) c.inProjSize() * h + outputs + mlp;
        int gs = groupSize < 0 ? (int) h : groupSize;
        return searched * (AwqScaler.GRID * perCandidate + probe) + AwqScaler.GRID * foldWeights
                + 10L * gs * clipped;
    }

    private void run() {
        FalconH1Config c = work.config();
        // 1. q, k, v, in_proj ← input_layernorm
        float[] s = search(NORM_READERS, null, probe::mixer);
        scaleInputs(NORM_READERS, AwqFolds.divideNorm(work, TensorRole.ATTN_NORM, s));
        quantize(LinearRole.ATTN_Q);
        quantize(LinearRole.ATTN_K);
        quantize(LinearRole.SSM_IN);
        pending.add(LinearRole.ATTN_V);
        // 2. o_proj ← v_proj rows
        probe.keepMixer(searchBase());
        s = search(List.of(LinearRole.ATTN_OUTPUT), AwqFolds.oProjTies(c), probe::fromMixerOutput);
        scaleInputs(List.of(LinearRole.ATTN_OUTPUT), s);
        AwqFolds.divideRows(work.linear(LinearRole.ATTN_V), c.hiddenSize(), AwqFolds.vRowScale(c, s));
        quantize(LinearRole.ATTN_OUTPUT);
        quantize(LinearRole.ATTN_V);
        // 3. out_proj ← mamba.norm: only a norm after the gate is a per-channel op on out_proj's input
        probe.keepMixer(searchBase());
        if (c.ssmRmsNorm() && !c.ssmNormBeforeGate()) {
            s = search(List.of(LinearRole.SSM_OUT), null, probe::fromMixerOutput);
            scaleInputs(List.of(LinearRole.SSM_OUT), AwqFolds.divideNorm(work, TensorRole.SSM_NORM, s));
        }
        quantize(LinearRole.SSM_OUT);
        // 4. gate, up ← pre_ff_layernorm
        probe.keepPostMixer(searchBase());
        floatScaled.clear(); // the MLP's folds run from the residual kept here: the mixer is not run again
        s = search(GATE_UP, null, probe::fromFfNorm);
        scaleInputs(GATE_UP, AwqFolds.divideNorm(work, TensorRole.FFN_NORM, s));
        quantize(LinearRole.FFN_GATE);
        pending.add(LinearRole.FFN_UP);
        // 5. down_proj ← up_proj rows
        probe.keepMlpHidden(searchBase());
        s = search(List.of(LinearRole.FFN_DOWN), null, probe::fromMlpOutput);
        scaleInputs(List.of(LinearRole.FFN_DOWN), s);
        AwqFolds.divideRows(work.linear(LinearRole.FFN_UP), c.hiddenSize(), s);
        quantize(LinearRole.FFN_UP);
        quantize(LinearRole.FFN_DOWN);
    }

    /** AutoAWQ's grid for the scale of {@code roles}' common input, each candidate scored by {@code loss}. */
    private float[] search(List<LinearRole> roles, int[] tiedClass, ToDoubleFunction<LayerWeights> loss) {
        int in = inputs(roles.getFirst());
        AwqScaler.Consumer[] consumers = roles.stream()
                .map(r -> new AwqScaler.Consumer(work.linear(r), work.linear(r).length / in))
                .toArray(AwqScaler.Consumer[]::new);
        LayerWeights base = searchBase();
        // each candidate's Q(W·s)/s, overwritten by the next
        float[][] quantized = java.util.Arrays.stream(consumers).map(c -> new float[c.weight().length])
                .toArray(float[][]::new);
        return AwqScaler.searchBy(stats.importance(roles.getFirst()).meanAbs(), consumers, in, work.scheme(),
                tiedClass, s -> {
                    LayerWeights candidate = base;
                    for (int i = 0; i < roles.size(); i++) {
                        AwqScaler.Consumer cons = consumers[i];
                        AwqScaler.quantizedUnscaled(cons.weight(), cons.out(), in, s, work.scheme(), work.pool(),
                                quantized[i]);
                        candidate = candidate.with(roles.get(i), DenseWeightMatrix.wrapFloats(
                                roles.get(i).hfModulePath(work.layer()), cons.out(), in, quantized[i]));
                    }
                    return loss.applyAsDouble(candidate);
                });
    }

    /** Multiplies the columns of {@code roles} (one input group) by s, and their input Hessian accordingly. */
    private void scaleInputs(List<LinearRole> roles, float[] s) {
        int in = inputs(roles.getFirst());
        for (LinearRole r : roles) {
            AwqFolds.scaleColumns(work.linear(r), in, s);
        }
        AwqFolds.scaleHessian(hessian(roles.getFirst()), s);
    }

    private void quantize(LinearRole role) {
        int in = inputs(role);
        float[] w = work.linear(role);
        String name = role.hfModulePath(work.layer());
        floatScaled.put(role, w);
        if (work.keepsFloat(role)) {
            work.keepFloat(role); // scaled like the others: its fold's norm or producer was divided by s
        } else {
            // AutoAWQ's auto_clip leaves q and k alone (avoid_clipping): their output error is not what attention sees
            QuantizedLinear q = role == LinearRole.ATTN_Q || role == LinearRole.ATTN_K
                    ? RtnQuantizer.quantize(name, w, w.length / in, in, work.scheme(), null, false, work.pool())
                    : RtnQuantizer.quantizeHessianClip(name, w, w.length / in, in, work.scheme(), hessian(role),
                            work.pool());
            work.setQuantized(role, q);
        }
        pending.remove(role);
        quantized.add(role);
        if (java.util.Arrays.stream(LinearRole.perLayer()).filter(r -> r.inputGroup() == role.inputGroup())
                .allMatch(quantized::contains)) {
            hessians.remove(role.inputGroup()); // the largest are in² doubles
        }
    }

    /** What the layer runs with now: the quantized linears, and the scaled float copies of the pending ones. */
    private LayerWeights weights() {
        LayerWeights w = work.weights();
        for (LinearRole r : pending) {
            int in = inputs(r);
            w = w.with(r, DenseWeightMatrix.ofFloats(r.hfModulePath(work.layer()), work.linear(r).length / in, in,
                    work.linear(r)));
        }
        return w;
    }

    /** What candidates are scored with: every linear of the layer in float, as scaled by the folds so far. */
    private LayerWeights searchBase() {
        LayerWeights w = weights();
        for (Map.Entry<LinearRole, float[]> e : floatScaled.entrySet()) {
            LinearRole r = e.getKey();
            int in = inputs(r);
            w = w.with(r, DenseWeightMatrix.ofFloats(r.hfModulePath(work.layer()), e.getValue().length / in, in,
                    e.getValue()));
        }
        return w;
    }

    private int inputs(LinearRole role) {
        return stats.importance(role).columns();
    }

    /** The Hessian of {@code role}'s input group, taken from the statistics once and scaled by every fold. */
    private double[][] hessian(LinearRole role) {
        return hessians.computeIfAbsent(role.inputGroup(), g -> {
            double[][] h = stats.hessian(role).hessian();
            stats.release(g);
            return h;
        });
    }
}
