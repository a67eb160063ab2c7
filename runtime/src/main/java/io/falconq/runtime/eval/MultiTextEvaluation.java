package io.falconq.runtime.eval;

import io.falconq.runtime.FalconH1Forward;

import java.util.ArrayList;
import java.util.List;

/**
 * Several texts (one per language, say) scored by one model, each on its own token stream and windows and against
 * its own baseline when one is given, plus the overall figures over all their scored positions together: overall
 * perplexity is {@code exp} of the mean NLL over every position, overall KLD and top-1 are means over every position,
 * so each overall figure is the token-weighted mean of the texts' figures (for ppl, of their mean NLLs).
 */
public final class MultiTextEvaluation {

    /** One text: what {@link PerplexityEvaluator#evaluate} takes, with a label. */
    public record Text(String label, EvalProtocol protocol, int ctx, List<EvalProtocol.Window> windows, int[] stream,
                       LogitsFile.Writer save, LogitsFile.Reader baseline) {
    }

    public record LabelledResult(String label, EvalResult result) {
    }

    /** The texts' results in the order given, and the overall result over all their positions. */
    public record Result(List<LabelledResult> texts, EvalResult overall) {
    }

    /** Progress after each window, counted over all texts. */
    @FunctionalInterface
    public interface Listener {
        void onWindow(String label, int done, int total, double runningPpl);
    }

    private MultiTextEvaluation() {
    }

    public static Result evaluate(FalconH1Forward forward, List<Text> texts, Listener listener) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("no texts to evaluate");
        }
        boolean baselines = texts.getFirst().baseline() != null;
        int total = 0;
        for (Text t : texts) {
            if ((t.baseline() != null) != baselines) {
                throw new IllegalArgumentException("every text needs a baseline, or none: " + t.label());
            }
            total += t.windows().size();
        }
        Perplexity ppl = new Perplexity();
        KlDivergence kl = baselines ? new KlDivergence() : null;
        List<LabelledResult> results = new ArrayList<>();
        int windows = 0;
        long evaluated = 0;
        double seconds = 0;
        int before = 0;
        for (Text t : texts) {
            int offset = before;
            int all = total;
            EvalResult r = PerplexityEvaluator.evaluate(forward, t.protocol(), t.ctx(), t.windows(), t.stream(),
                    t.save(), t.baseline(), listener == null ? null
                            : (done, n, running, tps) -> listener.onWindow(t.label(), offset + done, all, running),
                    ppl, kl);
            results.add(new LabelledResult(t.label(), r));
            before += t.windows().size();
            windows += r.windows();
            evaluated += r.tokensEvaluated();
            seconds += r.seconds();
        }
        Text first = texts.getFirst();
        EvalResult overall = new EvalResult(first.protocol(), first.ctx(), windows, evaluated, ppl.count(),
                ppl.meanNll(), ppl.ppl(), ppl.pplStdErr(), seconds, evaluated / seconds, forward.threads(),
                kl == null ? null : kl.summary());
        return new Result(List.copyOf(results), overall);
    }
}
