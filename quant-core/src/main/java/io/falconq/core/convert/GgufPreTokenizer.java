package io.falconq.core.convert;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The byte-level BPE pre-tokenizers of llama.cpp that falconq reproduces, selected by {@code tokenizer.ggml.pre}
 * exactly as {@code llama_vocab::impl::load} does (src/llama-vocab.cpp of llama.cpp v0.4.0, the release inside
 * node-llama-cpp 3.21.1): the split regex of {@code llm_tokenizer_bpe}, whether a pre-token that is already a whole
 * vocabulary entry skips the merges ({@code ignore_merges}), and whether BOS is added when the file has no
 * {@code tokenizer.ggml.add_bos_token}.
 *
 * <p>Only names whose llama.cpp handling is the regex and these two flags are listed; names with per-token
 * attribute rules (jina-v2-*), a separator token (roberta-bpe) or several chained regexes are not, and
 * {@link #of} returns empty for them.
 */
public enum GgufPreTokenizer {
    /** {@code LLAMA_VOCAB_PRE_TYPE_LLAMA3}; the regex is llama.cpp's "adapted" form (no {@code (?i:…)}). */
    LLAMA3(List.of("llama3", "llama-v3", "llama-bpe", "falcon3", GgufTokenizerMetadata.FALCON_H1_PRE, "pixtral",
            "midm-2.0", "lfm2"),
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            true, true),
    /** {@code LLAMA_VOCAB_PRE_TYPE_GPT2}. */
    GPT2(List.of("gpt-2", "phi-2", "gigachat", "a.x-4.0", "mellum"),
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
            false, false);

    private final List<String> names;
    private final String regex;
    private final boolean ignoreMerges;
    private final boolean addBosByDefault;

    GgufPreTokenizer(List<String> names, String regex, boolean ignoreMerges, boolean addBosByDefault) {
        this.names = names;
        this.regex = regex;
        this.ignoreMerges = ignoreMerges;
        this.addBosByDefault = addBosByDefault;
    }

    /** The pre-tokenizer llama.cpp selects for a {@code tokenizer.ggml.pre} value, if falconq supports it. */
    public static Optional<GgufPreTokenizer> of(String name) {
        for (GgufPreTokenizer p : values()) {
            if (p.names.contains(name)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Every supported {@code tokenizer.ggml.pre} value, for error messages. */
    public static List<String> supportedNames() {
        return Arrays.stream(values()).flatMap(p -> p.names.stream()).toList();
    }

    public String regex() {
        return regex;
    }

    public boolean ignoreMerges() {
        return ignoreMerges;
    }

    public boolean addBosByDefault() {
        return addBosByDefault;
    }
}
