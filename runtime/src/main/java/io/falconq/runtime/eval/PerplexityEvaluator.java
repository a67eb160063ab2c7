package io.falconq.runtime.eval;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.InferenceState;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Runs a model over evaluation windows and scores them: perplexity always, plus (optionally) the full-vocabulary
 * log-probabilities written to a {@link LogitsFile} and/or a comparison with a baseline {@link LogitsFile}
 * (KL divergence, top-1 agreement, Δppl; llama.cpp's formulas).
 *
 * <p>Each window runs in window mode from an empty state. The per-position scoring runs in parallel on the
 * forward pass's workers; results are gathered in position order, so the numbers do not depend on the thread count.
 */
public final class PerplexityEvaluator {

    /** Progress after each window. */
    @FunctionalInterface
    public interface Listener {
        void onWindow(int done, int total, double runningPpl, double tokensPerSecond);
    }

    private PerplexityEvaluator() {
    }

    /**
     * @param stream   the token stream the windows were cut from (targets are read from it)
     * @param save     receives every scored position's record, or null
     * @param baseline supplies a record per scored position (same windows), or null
     */
    public static EvalResult evaluate(FalconH1Forward forward, EvalProtocol protocol, int ctx,
                                      List<EvalProtocol.Window> windows, int[] stream, LogitsFile.Writer save,
                                      LogitsFile.Reader baseline, Listener listener) {
        return evaluate(forward, protocol, ctx, windows, stream, save, baseline, listener, null, null);
    }

    /**
     * {@link #evaluate} that also adds every scored position, in order, to {@code pooledPpl} and (with a baseline)
     * {@code pooledKl}, which collect several texts' positions into one overall figure (either may be null).
     */
    public static EvalResult evaluate(FalconH1Forward forward, EvalProtocol protocol, int ctx,
                                      List<EvalProtocol.Window> windows, int[] stream, LogitsFile.Writer save,
                                      LogitsFile.Reader baseline, Listener listener, Perplexity pooledPpl,
                                      KlDivergence pooledKl) {
        if (windows.isEmpty()) {
            throw new InvalidInputException("no evaluation window: the text has fewer than 2 tokens"
                    + (protocol == EvalProtocol.LLAMA_CPP ? " per chunk (llama.cpp's protocol needs at least ctx = "
                    + ctx + " tokens)" : ""));
        }
        int vocab = forward.model().config().vocabSize();
        if (baseline != null && baseline.header().vocab() != vocab) {
            throw new InvalidInputException("baseline logits have a vocabulary of " + baseline.header().vocab()
                    + ", this model " + vocab + ": the two models cannot be compared");
        }
        int maxLen = 0;
        int maxScored = 0;
        for (EvalProtocol.Window w : windows) {
            maxLen = Math.max(maxLen, w.length());
            maxScored = Math.max(maxScored, w.scoredCount());
        }
        int recordBytes = LogProbRecord.bytes(vocab);
        ByteBuffer saveBuf = save == null ? null
                : ByteBuffer.allocate(Math.multiplyExact(maxScored, recordBytes)).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer baseBuf = baseline == null ? null
                : ByteBuffer.allocate(Math.multiplyExact(maxScored, recordBytes)).order(ByteOrder.LITTLE_ENDIAN);
        Perplexity ppl = new Perplexity();
        KlDivergence kl = baseline == null ? null : new KlDivergence();
        double[] nll = new double[maxScored];
        TokenComparison[] comparisons = new TokenComparison[maxScored];
        InferenceState state = forward.newState(maxLen);
        long evaluated = 0;
        long start = System.nanoTime();
        int done = 0;
        for (EvalProtocol.Window w : windows) {
            state.reset();
            float[] logits = forward.forward(state, w.input(), 0, w.length(), w.firstScored(), null);
            evaluated += w.length();
            if (baseBuf != null) {
                baseline.next(baseBuf, w.scoredCount());
            }
            int base = w.start() + w.firstScored() + 1;
            forward.pool().forEach(w.scoredCount(), (i, worker) -> {
                int target = stream[base + i];
                int off = i * vocab;
                if (saveBuf != null) {
                    ByteBuffer rec = saveBuf.slice(i * recordBytes, recordBytes).order(ByteOrder.LITTLE_ENDIAN);
                    LogProbRecord.encode(logits, off, vocab, target, rec);
                }
                if (baseBuf != null) {
                    ByteBuffer rec = baseBuf.slice(i * recordBytes, recordBytes).order(ByteOrder.LITTLE_ENDIAN);
                    comparisons[i] = TokenComparison.compute(logits, off, vocab, target, rec);
                }
                nll[i] = LogSoftmax.nll(logits, off, vocab, target);
            });
            for (int i = 0; i < w.scoredCount(); i++) {
                ppl.add(nll[i]);
                if (pooledPpl != null) {
                    pooledPpl.add(nll[i]);
                }
                if (kl != null) {
                    kl.add(comparisons[i]);
                    if (pooledKl != null) {
                        pooledKl.add(comparisons[i]);
                    }
                }
            }
            if (save != null) {
                save.write(saveBuf, w.scoredCount());
            }
            done++;
            if (listener != null) {
                double secs = (System.nanoTime() - start) / 1e9;
                listener.onWindow(done, windows.size(), ppl.ppl(), evaluated / secs);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new EvalResult(protocol, ctx, windows.size(), evaluated, ppl.count(), ppl.meanNll(), ppl.ppl(),
                ppl.pplStdErr(), seconds, evaluated / seconds, forward.threads(), kl == null ? null : kl.summary());
    }
}
