package io.falconq.runtime.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * How a token stream is cut into evaluation windows and which positions are scored (SPEC.md §4).
 *
 * <ul>
 *   <li>{@link #FALCONQ}: consecutive non-overlapping windows of ctx tokens, the last shorter window kept (if it has
 *       at least 2 tokens); each window runs from an empty state at position 0; every token after the first of
 *       each window is scored. This is the protocol of {@code models/falcon-h1-tiny/golden/perplexity.json}.</li>
 *   <li>{@link #LLAMA_CPP}: {@code llama-perplexity}'s default mode (GGUF-NOTES.md §7.1): floor(n/ctx) chunks, the
 *       tail dropped; the first token of each chunk is replaced by BOS; only the logits at positions
 *       ctx/2 … ctx−2 are scored, each against the next token.</li>
 * </ul>
 * In both, the stream itself is {@code [BOS] + encode(text)} (the tokenizer's add_bos_token).
 */
public enum EvalProtocol {
    FALCONQ("falconq"),
    LLAMA_CPP("llama.cpp");

    private final String label;

    EvalProtocol(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** The first scored position of a window: 0, or llama-perplexity's ctx/2. */
    public int firstScored(int ctx) {
        return this == LLAMA_CPP ? ctx / 2 : 0;
    }

    /** The positions scored in a window of {@code ctx} tokens (each against the next token). */
    public int scoredPerWindow(int ctx) {
        return ctx - 1 - firstScored(ctx);
    }

    public static EvalProtocol parse(String s) {
        for (EvalProtocol p : values()) {
            if (p.label.equalsIgnoreCase(s) || p.name().equalsIgnoreCase(s)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown protocol \"" + s + "\" (expected falconq or llama.cpp)");
    }

    /**
     * One window: {@code input} is what the model runs (after any BOS substitution); the logits of rows
     * {@code firstScored … firstScored+scoredCount−1} are scored, row r against the stream token
     * {@code start + r + 1}.
     */
    public record Window(int index, int start, int[] input, int firstScored, int scoredCount) {
        public int length() {
            return input.length;
        }
    }

    /**
     * The windows over {@code tokens}, at most {@code maxWindows} of them (≤ 0: all), as {@code --chunks} limits
     * llama-perplexity.
     *
     * @param bosId the BOS id for {@link #LLAMA_CPP}'s substitution, or −1 when the tokenizer adds no BOS
     */
    public List<Window> windows(int[] tokens, int ctx, int bosId, int maxWindows) {
        if (ctx < 2) {
            throw new IllegalArgumentException("context must be at least 2 tokens, got " + ctx);
        }
        List<Window> out = new ArrayList<>();
        int limit = maxWindows > 0 ? maxWindows : Integer.MAX_VALUE;
        switch (this) {
            case FALCONQ -> {
                for (int start = 0; start < tokens.length && out.size() < limit; start += ctx) {
                    int len = Math.min(ctx, tokens.length - start);
                    if (len < 2) {
                        break;
                    }
                    int[] in = java.util.Arrays.copyOfRange(tokens, start, start + len);
                    out.add(new Window(out.size(), start, in, 0, len - 1));
                }
            }
            case LLAMA_CPP -> {
                int chunks = tokens.length / ctx;
                for (int i = 0; i < chunks && out.size() < limit; i++) {
                    int start = i * ctx;
                    int[] in = java.util.Arrays.copyOfRange(tokens, start, start + ctx);
                    if (bosId >= 0) {
                        in[0] = bosId;
                    }
                    out.add(new Window(i, start, in, firstScored(ctx), scoredPerWindow(ctx)));
                }
            }
        }
        return out;
    }
}
