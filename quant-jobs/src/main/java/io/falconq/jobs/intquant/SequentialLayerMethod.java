package io.falconq.jobs.intquant;

import io.falconq.core.calib.HessianAccumulator;
import io.falconq.core.calib.LinearRole;
import io.falconq.core.intquant.GptqQuantizer;
import io.falconq.core.intquant.QuantizedLinear;
import io.falconq.core.intquant.RtnQuantizer;
import io.falconq.runtime.LayerPart;
import io.falconq.runtime.Tap;

import java.util.EnumSet;
import java.util.List;

/**
 * GPTQ and clip for one layer, true-sequential as GPTQModel does it: the linears are quantized in the order the
 * forward pass reads them, each group from the activations its input has with everything before it already
 * quantized. The layer is run once in all, in parts ({@link LayerPart}), over every calibration sequence:
 * <ol>
 *   <li>input norm → q, k, v and in_proj (one Hessian: they read the same normed input);</li>
 *   <li>the two branches with those quantized → o_proj (attention heads) and out_proj (gated SSM output);</li>
 *   <li>the branch outputs and the residual, the FF norm → gate and up;</li>
 *   <li>gate, up and the SwiGLU → down;</li>
 *   <li>down and the residual: the next layer's input.</li>
 * </ol>
 * Between the parts the branch outputs and the MLP activation are kept in the stage store.
 */
final class SequentialLayerMethod {
    private record Step(LayerPart from, LayerPart to, List<Tap> keep, List<LinearRole> roles) {
    }

    private static final List<Step> STEPS = List.of(
            new Step(LayerPart.INPUT_NORM, LayerPart.INPUT_NORM, List.of(),
                    List.of(LinearRole.SSM_IN, LinearRole.ATTN_Q, LinearRole.ATTN_K, LinearRole.ATTN_V)),
            new Step(LayerPart.INPUT_NORM, LayerPart.MIXER, LayerPart.MIXER_OUTPUT.inputs(),
                    List.of(LinearRole.SSM_OUT, LinearRole.ATTN_OUTPUT)),
            new Step(LayerPart.MIXER_OUTPUT, LayerPart.FF_NORM, List.of(),
                    List.of(LinearRole.FFN_GATE, LinearRole.FFN_UP)),
            new Step(LayerPart.FF_NORM, LayerPart.MLP_HIDDEN, LayerPart.MLP_OUTPUT.inputs(),
                    List.of(LinearRole.FFN_DOWN)));

    private SequentialLayerMethod() {
    }

    /** Quantizes the layer's linears and leaves its output (the next layer's input) in the work's output store. */
    static void quantize(LayerWork work, IntQuantMethod method, double dampPercent) {
        boolean hessians = method == IntQuantMethod.GPTQ;
        for (Step step : STEPS) {
            EnumSet<LinearRole.InputGroup> groups = EnumSet.noneOf(LinearRole.InputGroup.class);
            step.roles().forEach(r -> groups.add(r.inputGroup()));
            InputStatistics stats = new InputStatistics(work.layer(), groups, hessians, !hessians, work.pool());
            work.runAll(step.from(), step.to(), step.keep(), stats);
            for (LinearRole.InputGroup g : groups) {
                List<LinearRole> roles = step.roles().stream().filter(r -> r.inputGroup() == g).toList();
                List<LinearRole> quantized = roles.stream().filter(r -> !work.keepsFloat(r)).toList();
                try (var solve = work.phases().enter(JobPhases.Phase.SOLVE)) {
                    GptqQuantizer.Prepared prepared = hessians && !quantized.isEmpty()
                            ? prepare(work, stats.hessian(roles.getFirst()), quantized.getFirst(), dampPercent) : null;
                    stats.release(g);
                    for (LinearRole role : roles) {
                        if (work.keepsFloat(role)) {
                            work.keepFloat(role);
                        } else {
                            work.setQuantized(role, quantizeOne(work, role, stats, prepared));
                        }
                    }
                }
            }
        }
        work.runAll(LayerPart.MLP_OUTPUT, LayerPart.MLP_OUTPUT, List.of(), null);
    }

    private static GptqQuantizer.Prepared prepare(LayerWork work, HessianAccumulator h, LinearRole role, double damp) {
        int in = h.columns();
        return GptqQuantizer.prepare(role.hfModulePath(work.layer()), h.takeHessian(), in, work.scheme(), damp,
                work.pool());
    }

    private static QuantizedLinear quantizeOne(LayerWork work, LinearRole role, InputStatistics stats,
                                               GptqQuantizer.Prepared prepared) {
        String name = role.hfModulePath(work.layer());
        float[] w = work.linear(role);
        var m = work.weights().linear(role);
        if (prepared != null) {
            return GptqQuantizer.quantize(name, w, m.rows(), m.cols(), prepared, work.scheme(), work.pool()).weight();
        }
        return RtnQuantizer.quantize(name, w, m.rows(), m.cols(), work.scheme(), stats.importance(role).meanSq(), true,
                work.pool());
    }
}
