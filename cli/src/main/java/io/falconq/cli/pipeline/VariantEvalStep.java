package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.EvalResult;
import io.falconq.runtime.eval.LogitsFile;
import io.falconq.runtime.eval.MultiTextEvaluation;
import io.falconq.runtime.eval.PerplexityEvaluator;

import java.nio.file.Path;
import java.util.List;

/**
 * Scores one artifact against the original model's saved log-probabilities, as
 * {@code falconq eval ARTIFACT --baseline LOGITS} does: the windows and tokens come from the baseline file's header,
 * so the variant sees exactly the original's tokens; ppl, Δppl, KL divergence and top-1 agreement follow.
 */
public record VariantEvalStep(ModelInput model, VariantSpec variant,
                              PipelineSettings settings) implements PipelineStep {
    public static String id(ModelInput model, VariantSpec variant) {
        return model.name() + "/" + variant.fileName() + "/eval";
    }

    @Override
    public String id() {
        return id(model, variant);
    }

    @Override
    public String label() {
        return model.name() + " " + variant.name() + ": evaluate against the original";
    }

    @Override
    public List<String> dependsOn() {
        return List.of(BaselineEvalStep.id(model), ConvertStep.id(model, variant));
    }

    @Override
    public void describeInputs(StepKey.Builder key) {
        // the artifact and the baseline enter through the upstream output hashes
        settings.describeEvaluation(key);
    }

    @Override
    public List<Path> outputs() {
        return List.of();
    }

    @Override
    public JsonNode run(StepContext context) {
        Path artifact = context.resolve(ConvertStep.modelFile(context.result(ConvertStep.id(model, variant)),
                ConvertStep.artifactPath(model, variant, settings)));
        if (settings.evalTexts().labelled()) {
            try (FalconH1Model loaded = FalconH1Model.load(artifact);
                 FalconH1Forward forward = new FalconH1Forward(loaded, context.threads())) {
                MultiTextEvaluation.Result result = EvalTexts.scoreAgainst(forward,
                        context.resolve(BaselineEvalStep.logitsFolderPath(model)), -1, context.textWindowProgress());
                return EvalNumbers.record(result, true);
            }
        }
        try (LogitsFile.Reader baseline = LogitsFile.open(context.resolve(BaselineEvalStep.logitsPath(model)));
             FalconH1Model loaded = FalconH1Model.load(artifact);
             FalconH1Forward forward = new FalconH1Forward(loaded, context.threads())) {
            LogitsFile.Header header = baseline.header();
            List<EvalProtocol.Window> windows = header.windowList();
            EvalResult result = PerplexityEvaluator.evaluate(forward, header.protocol(), header.ctx(), windows,
                    header.tokens(), null, baseline, context.windowProgress());
            return StepStore.MAPPER.valueToTree(EvalNumbers.of(result));
        }
    }
}
