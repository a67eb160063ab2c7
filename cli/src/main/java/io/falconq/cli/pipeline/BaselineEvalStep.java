package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.EvalResult;
import io.falconq.runtime.eval.LogitsFile;
import io.falconq.runtime.eval.MultiTextEvaluation;
import io.falconq.runtime.eval.PerplexityEvaluator;
import io.falconq.runtime.text.HfTokenizer;

import java.nio.file.Path;
import java.util.List;

/**
 * Scores the original checkpoint and saves its log-probabilities at every scored position (as
 * {@code falconq eval --save-logits}), once per model. Every variant is then scored against this file, on the
 * token stream stored in its header: identical tokens for all.
 */
public record BaselineEvalStep(ModelInput model, PipelineSettings settings) implements PipelineStep {
    public static String id(ModelInput model) {
        return model.name() + "/original/eval";
    }

    /** The saved log-probabilities, in the pipeline's state folder (not published). */
    public static Path logitsPath(ModelInput model) {
        return Path.of(StepStore.STATE_DIR, model.name(), "original.logits");
    }

    /** The same for labelled texts: a {@link io.falconq.runtime.eval.LogitsFolder}, one file per language. */
    public static Path logitsFolderPath(ModelInput model) {
        return Path.of(StepStore.STATE_DIR, model.name(), "original-logits");
    }

    /** Where this run's baseline log-probabilities are. */
    static Path logitsOf(ModelInput model, PipelineSettings settings) {
        return settings.evalTexts().labelled() ? logitsFolderPath(model) : logitsPath(model);
    }

    @Override
    public String id() {
        return id(model);
    }

    @Override
    public String label() {
        return model.name() + " original: evaluate and save log-probabilities";
    }

    @Override
    public void describeInputs(StepKey.Builder key) {
        model.describe(key);
        settings.describeEvaluation(key);
    }

    @Override
    public List<Path> outputs() {
        return List.of(logitsOf(model, settings));
    }

    @Override
    public JsonNode run(StepContext context) {
        try (FalconH1Model loaded = FalconH1Model.load(model.path());
             FalconH1Forward forward = new FalconH1Forward(loaded, context.threads())) {
            List<EvalTexts.Prepared> texts;
            try (HfTokenizer tokenizer = HfTokenizer.besideModel(model.path(),
                    "needed to tokenize the evaluation text")) {
                texts = EvalTexts.tokenize(settings.evalTexts(), tokenizer, settings.protocol(), settings.ctx(),
                        settings.chunks());
            }
            if (settings.evalTexts().labelled()) {
                MultiTextEvaluation.Result result = EvalTexts.score(forward, settings.protocol(),
                        settings.ctx(), texts, context.resolve(logitsFolderPath(model)), true,
                        context.textWindowProgress());
                return EvalNumbers.record(result, true);
            }
            int[] ids = texts.getFirst().tokens();
            int bos = texts.getFirst().bos();
            EvalProtocol protocol = settings.protocol();
            List<EvalProtocol.Window> windows = protocol.windows(ids, settings.ctx(), bos, settings.chunks());
            LogitsFile.Header header = new LogitsFile.Header(LogitsFile.Layout.FALCONQ, protocol, settings.ctx(),
                    loaded.config().vocabSize(), windows.size(), bos, ids);
            EvalResult result;
            try (LogitsFile.Writer logits = LogitsFile.create(context.resolve(logitsPath(model)), true, header)) {
                result = PerplexityEvaluator.evaluate(forward, protocol, settings.ctx(), windows, ids, logits, null,
                        context.windowProgress());
                logits.commit();
            }
            return StepStore.MAPPER.valueToTree(EvalNumbers.of(result));
        }
    }
}
