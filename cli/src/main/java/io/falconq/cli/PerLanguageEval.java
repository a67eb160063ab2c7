package io.falconq.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.cli.options.VerbosityMixin;
import io.falconq.cli.pipeline.EvalTexts;
import io.falconq.cli.pipeline.TextSources;
import io.falconq.cli.progress.Progress;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.EvalResult;
import io.falconq.runtime.eval.MultiTextEvaluation;
import io.falconq.runtime.kernel.ActivationQuantizer;
import io.falconq.runtime.text.HfTokenizer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code falconq eval} with several texts ({@code --data LANG=TEXT …}, {@code builtin:multi}) or a logits folder as
 * baseline: each text scored on its own tokens by {@link EvalTexts}, the pipeline's routine, and printed per
 * language and overall (over all positions: the token-weighted figures).
 */
record PerLanguageEval(CommandSpec spec, VerbosityMixin verbosity, int threads,
                       ActivationQuantizer.Mode activations, boolean json) {

    /** {@code texts} null: the baseline folder's own texts. */
    int run(Path model, Path tokenizerDir, EvalProtocol protocol, int ctx, int chunks, TextSources texts,
            Path baseline, Path saveLogits, boolean force) {
        if (baseline != null && saveLogits != null) {
            throw new ParameterException(spec.commandLine(), "--save-logits with a baseline folder: save the "
                    + "original's log-probabilities in one run and compare in another");
        }
        PrintWriter err = spec.commandLine().getErr();
        MultiTextEvaluation.Result result;
        try (FalconH1Model m = FalconH1Model.load(model);
             FalconH1Forward forward = new FalconH1Forward(m, threads, activations);
             Progress progress = Progress.create(spec, verbosity, "eval")) {
            m.config().warnings().forEach(w -> err.println("warning: " + w));
            MultiTextEvaluation.Listener listener = (label, done, total, ppl) -> progress.onStep(done, total,
                    String.format(Locale.ROOT, "%s ppl %.4f", label, ppl));
            if (texts == null) {
                err.printf("eval: %s against the texts of %s%n", model, baseline);
                err.flush();
                result = EvalTexts.scoreAgainst(forward, baseline, chunks, listener);
            } else {
                List<EvalTexts.Prepared> prepared;
                try (HfTokenizer tok = HfTokenizer.forModel(m, tokenizerDir)) {
                    prepared = EvalTexts.tokenize(texts, tok, protocol, ctx, chunks);
                }
                err.printf("eval: %s, %d texts (%s), %s windows of %d, %d threads%n", model, prepared.size(),
                        String.join(", ", prepared.stream().map(EvalTexts.Prepared::label).toList()),
                        protocol.label(), ctx, threads);
                err.flush();
                result = EvalTexts.score(forward, protocol, ctx, prepared, saveLogits, force, listener);
            }
        }
        print(model, baseline, result);
        if (saveLogits != null) {
            err.printf("eval: log-probabilities of %d texts -> %s%n", result.texts().size(), saveLogits);
        }
        return ExitCodes.OK;
    }

    private void print(Path model, Path baseline, MultiTextEvaluation.Result result) {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = EvalCommand.toJson(result.overall(), model, baseline, activations.label());
            ArrayNode languages = o.putArray("languages");
            for (MultiTextEvaluation.LabelledResult t : result.texts()) {
                ObjectNode l = EvalCommand.toJson(t.result(), model, baseline, activations.label());
                l.remove("model");
                languages.add(EvalCommand.Json.MAPPER.createObjectNode().put("language", t.label()).setAll(l));
            }
            out.println(o.toPrettyString());
        } else {
            for (MultiTextEvaluation.LabelledResult t : result.texts()) {
                EvalResult r = t.result();
                out.printf(Locale.ROOT, "%-12s %6d tokens  ppl %10.4f ± %.4f", t.label(), r.scoredTokens(), r.ppl(),
                        r.pplStdErr());
                if (r.kl() != null) {
                    out.printf(Locale.ROOT, "  Δppl %+.6f  KLD %.6f  top-1 %.3f %%", r.kl().deltaPpl().value(),
                            r.kl().meanKld().value(), 100 * r.kl().sameTopP().value());
                }
                out.println();
            }
            out.println("all texts (every position, token-weighted):");
            EvalCommand.printText(out, result.overall());
        }
        out.flush();
    }
}
