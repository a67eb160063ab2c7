package io.falconq.cli.pipeline;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.runtime.eval.EvalResult;
import io.falconq.runtime.eval.KlDivergence;
import io.falconq.runtime.eval.MultiTextEvaluation;

import java.util.ArrayList;
import java.util.List;

/**
 * What an evaluation step records: the {@link EvalResult} numbers the report shows, as plain values (the step
 * record is JSON). The KL fields are NaN for the original model, which has no baseline.
 */
public record EvalNumbers(int windows, long scoredTokens, double ppl, double pplError, double deltaPpl,
                          double deltaPplError, double kldMean, double kldMeanError, double kldMedian, double kldP99,
                          double kldMax,
                          double top1Percent, double tokensPerSecond, double seconds) {

    /** One text's numbers. */
    public record Labelled(String language, EvalNumbers numbers) {
    }

    public static EvalNumbers of(EvalResult r) {
        KlDivergence.KlSummary kl = r.kl();
        if (kl == null) {
            return new EvalNumbers(r.windows(), r.scoredTokens(), r.ppl(), r.pplStdErr(), Double.NaN, Double.NaN,
                    Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, r.tokensPerSecond(),
                    r.seconds());
        }
        return new EvalNumbers(r.windows(), r.scoredTokens(), r.ppl(), r.pplStdErr(), kl.deltaPpl().value(),
                kl.deltaPpl().error(), kl.meanKld().value(), kl.meanKld().error(), decimal(kl.medianKld()),
                decimal(kl.p99Kld()),
                decimal(kl.maxKld()),
                100.0 * kl.sameTopP().value(), r.tokensPerSecond(), r.seconds());
    }

    /**
     * A step's record of a multi-text evaluation: the overall numbers as the fields of this record, plus (when the
     * texts are labelled) {@code languages}, each text's numbers with its {@code language}.
     */
    static JsonNode record(MultiTextEvaluation.Result result, boolean labelled) {
        ObjectNode node = StepStore.MAPPER.valueToTree(of(result.overall()));
        if (labelled) {
            ArrayNode languages = node.putArray("languages");
            for (MultiTextEvaluation.LabelledResult t : result.texts()) {
                ObjectNode l = StepStore.MAPPER.valueToTree(of(t.result()));
                l.put("language", t.label());
                languages.add(l);
            }
        }
        return node;
    }

    /** The overall numbers of a step record. */
    static EvalNumbers overall(JsonNode record) {
        try {
            return StepStore.MAPPER.treeToValue(record, EvalNumbers.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("evaluation record unreadable: " + e.getOriginalMessage(), e);
        }
    }

    /** The per-text numbers of a step record (empty for one unlabelled text). */
    static List<Labelled> languages(JsonNode record) {
        List<Labelled> out = new ArrayList<>();
        for (JsonNode l : record.path("languages")) {
            out.add(new Labelled(l.get("language").asText(), overall(l)));
        }
        return out;
    }

    /**
     * A float statistic as the double with the float's shortest decimal ({@code Float.toString}), so report.json
     * shows the digits {@code falconq eval --json} prints rather than the float's binary expansion.
     */
    static double decimal(float value) {
        return Double.parseDouble(Float.toString(value));
    }
}
