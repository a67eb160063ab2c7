package io.falconq.jobs.intquant;

import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.LayerPart;
import io.falconq.runtime.LayerWeights;
import io.falconq.runtime.Tap;

import java.util.List;

/**
 * The sample on which {@link AwqLayerMethod} scores its candidates: the first few calibration sequences entering
 * the layer and, for them, the float layer's residual after its mixer and after its MLP. A candidate's loss is the
 * {@link AwqLoss} of the residual after the part it changes, against the float layer's: after the mixer for the
 * linears inside it (q/k/v/in_proj, o_proj, out_proj), after the MLP for gate/up and down. The runtime's forward
 * ({@link FalconH1Forward#runLayer}) runs only the range from the first part the candidate changes to that point,
 * from the part inputs kept for that purpose ({@code keep…}), so a candidate for o_proj runs o_proj and out_proj
 * alone, and no mixer candidate runs the MLP.
 */
final class AwqProbe {
    /**
     * A candidate's loss taken downstream of the layer instead of by the {@link AwqLoss}: from the residual after the
     * whole layer for search sequence {@code seq} (the held-out study's bound: the float model's later layers and
     * head, KL divergence from its logits; too costly for a job, O(layers²)).
     */
    interface DownstreamLoss {
        double loss(int layer, int seq, float[] residualAfterLayer);
    }

    private final LayerWork work;
    private final AwqLoss loss;
    private final DownstreamLoss downstream;
    private final int sequences;
    private final int tokens;
    private final int hidden;
    /** Per sequence (tokens × hidden): the residual entering the layer, after the float mixer and after the MLP. */
    private final float[][] input;
    private final float[][] referenceMixer;
    private final float[][] reference;
    private final float[] residual;
    /** Per sequence: the inputs of the range a candidate runs, kept by the last {@code keep…} call. */
    private float[][][] kept;
    /** Per sequence (tokens × hidden): the residual after the mixer, for ranges that start after it. */
    private float[][] postMixer;

    AwqProbe(LayerWork work, AwqLoss loss, DownstreamLoss downstream, int sequences) {
        this.work = work;
        this.loss = loss;
        this.downstream = downstream;
        this.sequences = sequences;
        this.tokens = work.tokens();
        this.hidden = work.config().hiddenSize();
        this.input = new float[sequences][tokens * hidden];
        this.referenceMixer = new float[sequences][];
        this.reference = new float[sequences][];
        this.residual = new float[tokens * hidden];
        for (int s = 0; s < sequences; s++) {
            work.readInput(s, input[s]);
            referenceMixer[s] = input[s].clone();
            run(work.weights(), referenceMixer[s], LayerPart.INPUT_NORM, LayerPart.MIXER_OUTPUT, null);
            reference[s] = referenceMixer[s].clone();
            run(work.weights(), reference[s], LayerPart.FF_NORM, LayerPart.MLP_OUTPUT, null);
        }
    }

    int sequences() {
        return sequences;
    }

    /** Loss of the mixer run with {@code w} (a candidate for the linears reading the input norm). */
    double mixer(LayerWeights w) {
        double total = 0;
        for (int s = 0; s < sequences; s++) {
            System.arraycopy(input[s], 0, residual, 0, residual.length);
            run(w, residual, LayerPart.INPUT_NORM, LayerPart.MIXER_OUTPUT, null);
            total += score(w, s, LayerPart.MIXER_OUTPUT, referenceMixer[s]);
        }
        return total;
    }

    /** Keeps the output projections' inputs (attention heads, gated SSM output) that {@code w}'s mixer gives. */
    void keepMixer(LayerWeights w) {
        keep(w, null, LayerPart.INPUT_NORM, LayerPart.MIXER);
    }

    /** Loss of the output projections of {@code w}, their inputs as {@link #keepMixer} kept them. */
    double fromMixerOutput(LayerWeights w) {
        return lossFrom(w, input, LayerPart.MIXER_OUTPUT, LayerPart.MIXER_OUTPUT, referenceMixer);
    }

    /** Keeps the residual after {@code w}'s mixer output, from the inputs {@link #keepMixer} kept. */
    void keepPostMixer(LayerWeights w) {
        postMixer = new float[sequences][];
        for (int s = 0; s < sequences; s++) {
            load(s, LayerPart.MIXER_OUTPUT);
            postMixer[s] = input[s].clone();
            run(w, postMixer[s], LayerPart.MIXER_OUTPUT, LayerPart.MIXER_OUTPUT, null);
        }
        kept = null;
    }

    /** Loss with {@code w} from the pre-FF norm on, from the residual {@link #keepPostMixer} kept. */
    double fromFfNorm(LayerWeights w) {
        return lossFrom(w, postMixer, LayerPart.FF_NORM, LayerPart.MLP_OUTPUT, reference);
    }

    /** Keeps down_proj's input that {@code w}'s gate and up give, from the residual {@link #keepPostMixer} kept. */
    void keepMlpHidden(LayerWeights w) {
        keep(w, postMixer, LayerPart.FF_NORM, LayerPart.MLP_HIDDEN);
    }

    /** Loss with {@code w}'s down_proj, its input as {@link #keepMlpHidden} kept it. */
    double fromMlpOutput(LayerWeights w) {
        return lossFrom(w, postMixer, LayerPart.MLP_OUTPUT, LayerPart.MLP_OUTPUT, reference);
    }

    private double lossFrom(LayerWeights w, float[][] start, LayerPart from, LayerPart to, float[][] target) {
        double total = 0;
        for (int s = 0; s < sequences; s++) {
            load(s, from);
            System.arraycopy(start[s], 0, residual, 0, residual.length);
            run(w, residual, from, to, null);
            total += score(w, s, to, target[s]);
        }
        return total;
    }

    private double score(LayerWeights w, int s, LayerPart at, float[] target) {
        if (downstream == null) {
            return loss.error(target, residual, tokens, hidden);
        }
        if (at == LayerPart.MIXER_OUTPUT) {
            run(w, residual, LayerPart.FF_NORM, LayerPart.MLP_OUTPUT, null);
        }
        return downstream.loss(work.layer(), s, residual);
    }

    /** Runs {@code from … to} from {@code start} (null: the layer input) and keeps what the next part reads. */
    private void keep(LayerWeights w, float[][] start, LayerPart from, LayerPart to) {
        List<Tap> taps = LayerPart.values()[to.ordinal() + 1].inputs();
        FalconH1Forward f = work.forward();
        float[][][] next = new float[sequences][taps.size()][];
        for (int s = 0; s < sequences; s++) {
            System.arraycopy((start == null ? input : start)[s], 0, residual, 0, residual.length);
            float[][] dst = next[s];
            run(w, residual, from, to, (tap, layer, data, rows, cols) -> {
                int i = taps.indexOf(tap);
                if (i >= 0 && layer == work.layer()) {
                    dst[i] = java.util.Arrays.copyOf(data, rows * cols);
                }
            });
        }
        kept = next;
    }

    /** Puts sequence {@code s}'s kept inputs of {@code from} into the forward's buffers. */
    private void load(int s, LayerPart from) {
        List<Tap> taps = from.inputs();
        for (int i = 0; i < taps.size(); i++) {
            work.forward().load(taps.get(i), kept[s][i], 0, tokens);
        }
    }

    private void run(LayerWeights w, float[] h, LayerPart from, LayerPart to, io.falconq.runtime.TapListener taps) {
        work.forward().runLayer(work.layer(), w, work.freshState(), 0, h, tokens, from, to, taps);
    }
}
