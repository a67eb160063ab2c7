package io.falconq.core.convert;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.io.InvalidInputException;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The reverse of {@link GgufTokenizerMetadata}: the {@code tokenizer.*} keys of a GGUF turned back into a Hugging
 * Face {@code tokenizer.json} that encodes as llama.cpp does, plus the BOS/EOS settings llama.cpp derives from the
 * same keys ({@code llama_vocab::impl::load}):
 *
 * <ul>
 *   <li>{@code tokenizer.ggml.model} must be {@code gpt2} (byte-level BPE) and {@code tokenizer.ggml.pre} one of
 *       {@link GgufPreTokenizer}; anything else is refused by name;</li>
 *   <li>every token goes into the BPE vocabulary under its id, as llama.cpp's {@code token_to_id} holds them all
 *       (so {@code ignore_merges} finds the same whole words); CONTROL tokens also become special added tokens and
 *       USER_DEFINED ones non-special added tokens, which both tokenizers match in the raw text before splitting;</li>
 *   <li>merges are split at the first space after position 1, as llama.cpp does, and written as pairs;</li>
 *   <li>BOS/EOS ids default to 11 for {@code gpt2} and are replaced by the file's in-range
 *       {@code bos/eos_token_id}; {@code add_bos} defaults to the pre-tokenizer's and {@code add_eos} to false,
 *       each replaced by {@code tokenizer.ggml.add_bos/eos_token} when present.</li>
 * </ul>
 *
 * @param tokenizerJson the tokenizer.json document
 * @param bosId         BOS id, or -1 when llama.cpp has none
 * @param eosId         EOS id, or -1
 * @param addBos        whether llama.cpp prepends BOS when it adds special tokens
 * @param addEos        whether it appends EOS
 * @param chatTemplate  {@code tokenizer.chat_template}, or null
 */
public record GgufTokenizerJson(ObjectNode tokenizerJson, int bosId, int eosId, boolean addBos, boolean addEos,
                                String chatTemplate) {
    /** llama.cpp's default BOS and EOS id of a {@code gpt2} vocabulary. */
    private static final int GPT2_DEFAULT_SPECIAL_ID = 11;
    private static final int TOKEN_UNDEFINED = 0;

    /** Reads the tokenizer of a GGUF's metadata; {@code origin} names the file in errors. */
    public static GgufTokenizerJson of(GgufMetadata md, String origin) {
        String model = md.find(GgufTokenizerMetadata.MODEL_KEY).isPresent()
                ? md.getString(GgufTokenizerMetadata.MODEL_KEY) : null;
        if (!GgufTokenizerMetadata.GPT2_MODEL.equals(model)) {
            throw new InvalidInputException(origin + ": " + GgufTokenizerMetadata.MODEL_KEY + " is "
                    + (model == null ? "missing" : "\"" + model + "\"") + ", expected \""
                    + GgufTokenizerMetadata.GPT2_MODEL + "\" (falconq reads byte-level BPE tokenizers only; give "
                    + "--tokenizer DIR)");
        }
        String preName = md.find(GgufTokenizerMetadata.PRE_KEY).isPresent()
                ? md.getString(GgufTokenizerMetadata.PRE_KEY) : "";
        GgufPreTokenizer pre = GgufPreTokenizer.of(preName).orElseThrow(() -> new InvalidInputException(origin
                + ": " + GgufTokenizerMetadata.PRE_KEY + " \"" + preName + "\" is not supported (supported: "
                + String.join(", ", GgufPreTokenizer.supportedNames()) + "); give --tokenizer DIR"));

        List<String> tokens = md.getStringArray(GgufTokenizerMetadata.TOKENS_KEY);
        int[] types = md.find(GgufTokenizerMetadata.TOKEN_TYPE_KEY).isPresent()
                ? md.getI32Array(GgufTokenizerMetadata.TOKEN_TYPE_KEY) : null;
        if (types != null && types.length < tokens.size()) {
            throw new InvalidInputException(origin + ": " + GgufTokenizerMetadata.TOKEN_TYPE_KEY + " has "
                    + types.length + " entries, expected " + tokens.size());
        }
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode vocab = f.objectNode();
        ArrayNode added = f.arrayNode();
        for (int id = 0; id < tokens.size(); id++) {
            // llama.cpp renames empty tokens the same way
            String text = tokens.get(id).isEmpty() ? "[EMPTY_" + id + "]" : tokens.get(id);
            if (vocab.has(text)) {
                throw new InvalidInputException(origin + ": token " + id + " \"" + text + "\" appears twice in "
                        + GgufTokenizerMetadata.TOKENS_KEY);
            }
            vocab.put(text, id);
            int type = types == null ? GgufTokenizerMetadata.TOKEN_NORMAL : types[id];
            switch (type) {
                case GgufTokenizerMetadata.TOKEN_CONTROL, GgufTokenizerMetadata.TOKEN_USER_DEFINED ->
                        added.add(addedToken(f, id, text, type == GgufTokenizerMetadata.TOKEN_CONTROL));
                case TOKEN_UNDEFINED, GgufTokenizerMetadata.TOKEN_NORMAL, GgufTokenizerMetadata.TOKEN_UNUSED -> {
                }
                default -> throw new InvalidInputException(origin + ": token " + id + " has "
                        + GgufTokenizerMetadata.TOKEN_TYPE_KEY + " " + type + " (UNKNOWN or BYTE), which a gpt2 "
                        + "vocabulary never has; falconq does not read it");
            }
        }

        ObjectNode json = f.objectNode();
        json.put("version", "1.0");
        json.putNull("truncation");
        json.putNull("padding");
        json.set("added_tokens", added);
        json.putNull("normalizer");
        json.set("pre_tokenizer", preTokenizer(f, pre));
        json.putNull("post_processor");
        json.set("decoder", byteLevel(f, true, true));
        ObjectNode bpe = json.putObject("model");
        bpe.put("type", "BPE");
        bpe.putNull("dropout");
        bpe.putNull("unk_token");
        bpe.putNull("continuing_subword_prefix");
        bpe.putNull("end_of_word_suffix");
        bpe.put("fuse_unk", false);
        bpe.put("byte_fallback", false);
        bpe.put("ignore_merges", pre.ignoreMerges());
        bpe.set("vocab", vocab);
        bpe.set("merges", merges(md, origin, f));

        int bos = specialId(md, "bos", tokens.size());
        int eos = specialId(md, "eos", tokens.size());
        boolean addBos = flag(md, GgufTokenizerMetadata.addSpecialKey("bos")).orElse(pre.addBosByDefault());
        boolean addEos = flag(md, GgufTokenizerMetadata.addSpecialKey("eos")).orElse(false);
        String template = md.find(GgufTokenizerMetadata.CHAT_TEMPLATE_KEY).isPresent()
                ? md.getString(GgufTokenizerMetadata.CHAT_TEMPLATE_KEY) : null;
        return new GgufTokenizerJson(json, bos, eos, addBos, addEos, template);
    }

    /** The vocabulary text of a token id, or null for a null id. */
    public String tokenText(Integer id) {
        if (id == null) {
            return null;
        }
        var entries = tokenizerJson.path("model").path("vocab").properties();
        for (var e : entries) {
            if (e.getValue().intValue() == id) {
                return e.getKey();
            }
        }
        throw new IllegalArgumentException("no token with id " + id);
    }

    private static ObjectNode addedToken(JsonNodeFactory f, int id, String text, boolean special) {
        ObjectNode t = f.objectNode();
        t.put("id", id);
        t.put("content", text);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", special);
        return t;
    }

    /** The split regex (matches kept as pieces), then bytes to the GPT-2 unicode alphabet. */
    private static ObjectNode preTokenizer(JsonNodeFactory f, GgufPreTokenizer pre) {
        ObjectNode seq = f.objectNode();
        seq.put("type", "Sequence");
        ArrayNode steps = seq.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", pre.regex());
        split.put("behavior", "Isolated");
        split.put("invert", false);
        steps.add(byteLevel(f, false, false));
        return seq;
    }

    private static ObjectNode byteLevel(JsonNodeFactory f, boolean addPrefixSpace, boolean useRegex) {
        ObjectNode b = f.objectNode();
        b.put("type", "ByteLevel");
        b.put("add_prefix_space", addPrefixSpace);
        b.put("trim_offsets", true);
        b.put("use_regex", useRegex);
        return b;
    }

    private static ArrayNode merges(GgufMetadata md, String origin, JsonNodeFactory f) {
        if (md.find(GgufTokenizerMetadata.MERGES_KEY).isEmpty()) {
            throw new InvalidInputException(origin + ": no " + GgufTokenizerMetadata.MERGES_KEY
                    + " (llama.cpp cannot load a gpt2 vocabulary without merges)");
        }
        ArrayNode out = f.arrayNode();
        Set<String> seen = new HashSet<>();
        for (String merge : md.getStringArray(GgufTokenizerMetadata.MERGES_KEY)) {
            int space = merge.indexOf(' ', 1);
            // llama.cpp ranks a merge without such a space as the pair ("", ""), which no symbol pair ever
            // equals, and keeps the first rank of a repeated pair (unordered_map::emplace)
            if (space > 0 && seen.add(merge)) {
                out.addArray().add(merge.substring(0, space)).add(merge.substring(space + 1));
            }
        }
        return out;
    }

    /** llama.cpp: the gpt2 default, replaced by the file's id when that is in range. */
    private static int specialId(GgufMetadata md, String type, int vocabSize) {
        String key = GgufTokenizerMetadata.SPECIAL_KEYS.get(type);
        int id = GPT2_DEFAULT_SPECIAL_ID < vocabSize ? GPT2_DEFAULT_SPECIAL_ID : -1;
        if (md.find(key).isPresent()) {
            long fileId = md.getU32(key);
            if (fileId < vocabSize) {
                id = (int) fileId;
            }
        }
        return id;
    }

    private static Optional<Boolean> flag(GgufMetadata md, String key) {
        return md.find(key).isPresent() ? Optional.of(md.getBool(key)) : Optional.empty();
    }
}
