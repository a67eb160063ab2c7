package io.falconq.jobs.imatrix;

import io.falconq.core.calib.LinearInputObserver;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.ProgressListener;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.InferenceState;

/**
 * Runs calibration text through the model the way {@code llama-imatrix} does ({@code compute_imatrix},
 * tools/imatrix/imatrix.cpp), reporting every linear layer's input to an {@link LinearInputObserver}:
 * <ul>
 *   <li>the ids are [BOS] + encode(text) when the tokenizer adds BOS ({@code common_tokenize(…, true, …)});</li>
 *   <li>they are cut into {@code ids.length / ctx} whole chunks of {@code ctx} tokens (the tail is dropped), at most
 *       {@code maxChunks};</li>
 *   <li>each chunk starts from an empty state at position 0 with its first token replaced by BOS;</li>
 *   <li>every token of the chunk contributes (llama-imatrix asks for all logits, so even the last layer's FFN runs on
 *       every row).</li>
 * </ul>
 */
public final class CalibrationRunner {
    private CalibrationRunner() {
    }

    /** What a run saw. */
    public record Summary(int chunks, int ctx, long tokens, double seconds) {
        public double tokensPerSecond() {
            return seconds > 0 ? tokens / seconds : 0;
        }
    }

    /** Number of whole chunks {@code ids} gives, capped by {@code maxChunks} (≤ 0 = no cap). */
    public static int chunkCount(int tokens, int ctx, int maxChunks) {
        int n = tokens / ctx;
        return maxChunks > 0 ? Math.min(n, maxChunks) : n;
    }

    /**
     * The chunks {@link #run} would feed, as separate sequences: {@code chunkCount} rows of {@code ctx} ids, each
     * starting with {@code bosId} when it is ≥ 0.
     */
    public static int[][] sequences(int[] ids, int bosId, int ctx, int maxChunks) {
        if (ctx < 1) {
            throw new IllegalArgumentException("context must be at least 1 token, found " + ctx);
        }
        int chunks = chunkCount(ids.length, ctx, maxChunks);
        if (chunks < 1) {
            throw new InvalidInputException("calibration text has " + ids.length + " tokens, fewer than one chunk of "
                    + ctx + " (use a longer text or a smaller --ctx)");
        }
        int[][] out = new int[chunks][];
        for (int c = 0; c < chunks; c++) {
            out[c] = java.util.Arrays.copyOfRange(ids, c * ctx, (c + 1) * ctx);
            if (bosId >= 0) {
                out[c][0] = bosId;
            }
        }
        return out;
    }

    /**
     * @param ids       token ids, BOS already prepended when the model wants it
     * @param bosId     id written over the first token of every chunk, or -1 to leave chunks as they are
     * @param maxChunks at most this many chunks (≤ 0: all)
     */
    public static Summary run(FalconH1Model model, int threads, int[] ids, int bosId, int ctx, int maxChunks,
                              LinearInputObserver observer, ProgressListener progress) {
        int[][] windows = sequences(ids, bosId, ctx, maxChunks);
        int chunks = windows.length;
        long start = System.nanoTime();
        try (FalconH1Forward fwd = new FalconH1Forward(model, threads)) {
            for (int c = 0; c < chunks; c++) {
                InferenceState state = fwd.newState(ctx);
                // logitsFrom = ctx: no logits are needed; the observer still sees the final norm of every row
                fwd.forward(state, windows[c], 0, ctx, ctx, new LinearInputTaps(observer));
                double s = (System.nanoTime() - start) / 1e9;
                long done = (long) (c + 1) * ctx;
                progress.onStep(c + 1, chunks, String.format("chunk %d/%d  %.0f tokens/s", c + 1, chunks, done / s));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Summary(chunks, ctx, (long) chunks * ctx, seconds);
    }
}
