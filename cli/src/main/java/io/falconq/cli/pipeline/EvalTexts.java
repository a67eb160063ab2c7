package io.falconq.cli.pipeline;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.LogitsFile;
import io.falconq.runtime.eval.LogitsFolder;
import io.falconq.runtime.eval.MultiTextEvaluation;
import io.falconq.runtime.text.HfTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-language evaluation, the one routine of {@code falconq eval} and the pipeline's evaluation steps: each text
 * tokenized on its own ({@code [BOS] + encode(text)}) and cut into its own windows ({@code chunks} at most per
 * text), scored by {@link MultiTextEvaluation}, its log-probabilities saved to or compared with one
 * {@link LogitsFile} per text in a {@link LogitsFolder}.
 */
public final class EvalTexts {
    /** One text's token stream and windows. */
    public record Prepared(String label, int[] tokens, int bos, List<EvalProtocol.Window> windows) {
    }

    private EvalTexts() {
    }

    public static List<Prepared> tokenize(TextSources texts, HfTokenizer tokenizer, EvalProtocol protocol, int ctx,
                                          int chunks) {
        int bos = tokenizer.addedBosId();
        List<Prepared> out = new ArrayList<>();
        for (TextSources.Text t : texts.texts()) {
            int[] ids = tokenizer.encodeForModel(t.input().text());
            List<EvalProtocol.Window> windows = protocol.windows(ids, ctx, bos, chunks);
            if (windows.isEmpty()) {
                throw new InvalidInputException(t.input().label() + ": " + ids.length + " tokens make no "
                        + protocol.label() + " window of " + ctx);
            }
            out.add(new Prepared(t.language(), ids, bos, windows));
        }
        return out;
    }

    /**
     * Scores {@code texts}, saving their log-probabilities into a new {@link LogitsFolder} at {@code folder} unless
     * it is null.
     */
    public static MultiTextEvaluation.Result score(FalconH1Forward forward, EvalProtocol protocol, int ctx,
                                                   List<Prepared> texts, Path folder, boolean force,
                                                   MultiTextEvaluation.Listener listener) {
        int vocab = forward.model().config().vocabSize();
        List<LogitsFile.Writer> writers = new ArrayList<>();
        try (LogitsFolder.Writer out = folder == null ? null : LogitsFolder.create(folder, force)) {
            List<MultiTextEvaluation.Text> scored = new ArrayList<>();
            for (Prepared p : texts) {
                LogitsFile.Writer w = out == null ? null : out.add(p.label(), new LogitsFile.Header(
                        LogitsFile.Layout.FALCONQ, protocol, ctx, vocab, p.windows().size(), p.bos(), p.tokens()));
                if (w != null) {
                    writers.add(w);
                }
                scored.add(new MultiTextEvaluation.Text(p.label(), protocol, ctx, p.windows(), p.tokens(), w, null));
            }
            MultiTextEvaluation.Result result = MultiTextEvaluation.evaluate(forward, scored, listener);
            if (out != null) {
                writers.forEach(LogitsFile.Writer::commit);
                out.commit();
            }
            return result;
        } finally {
            writers.forEach(LogitsFile.Writer::close);
        }
    }

    /**
     * Scores the texts of a {@link LogitsFolder} against it, on the tokens and windows stored there (the first
     * {@code windowLimit} windows of each, ≤ 0: all).
     */
    public static MultiTextEvaluation.Result scoreAgainst(FalconH1Forward forward, Path folder, int windowLimit,
                                                          MultiTextEvaluation.Listener listener) {
        List<LogitsFolder.Entry> entries = LogitsFolder.open(folder);
        try {
            List<MultiTextEvaluation.Text> texts = new ArrayList<>();
            for (LogitsFolder.Entry e : entries) {
                LogitsFile.Header h = e.reader().header();
                List<EvalProtocol.Window> windows = h.windowList();
                if (windowLimit > 0 && windows.size() > windowLimit) {
                    windows = windows.subList(0, windowLimit);
                }
                texts.add(new MultiTextEvaluation.Text(e.label(), h.protocol(), h.ctx(), windows, h.tokens(), null,
                        e.reader()));
            }
            return MultiTextEvaluation.evaluate(forward, texts, listener);
        } finally {
            entries.forEach(e -> e.reader().close());
        }
    }
}
