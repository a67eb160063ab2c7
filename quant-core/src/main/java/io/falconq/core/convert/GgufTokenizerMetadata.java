package io.falconq.core.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufValue;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code tokenizer.*} GGUF keys for a Falcon-H1 checkpoint, built from {@code tokenizer.json},
 * {@code tokenizer_config.json} and {@code config.json} the way llama.cpp's converter does for a byte-level BPE
 * tokenizer ({@code TextModel._set_vocab_gpt2} and {@code get_vocab_base} in conversion/base.py, gguf-py
 * {@code SpecialVocab}; GGUF-NOTES.md §3.6):
 *
 * <ul>
 *   <li>{@code tokenizer.ggml.model = "gpt2"}, {@code tokenizer.ggml.pre = "falcon-h1"} (the converter finds this
 *       name by hashing the tokens of a probe text; every Falcon-H1 tokenizer maps to it);</li>
 *   <li>{@code tokens} for ids 0 … vocab_size−1 of {@code config.json}, ids the tokenizer lacks written as
 *       {@code [PAD<id>]}; {@code token_type} NORMAL (1), CONTROL (3) for added tokens that are special or look
 *       special, USER_DEFINED (4) for other added tokens, UNUSED (5) for the padding;</li>
 *   <li>{@code merges} as {@code "left right"} strings, spaces inside a part encoded as U+0120;</li>
 *   <li>special ids for bos, eos, unk, sep, pad, cls, mask: first from {@code tokenizer_config.json}'s
 *       {@code <type>_token} matched to an added token, then from {@code config.json}'s {@code <type>_token_id};</li>
 *   <li>{@code add_<type>_token} from {@code tokenizer_config.json} booleans (or, when it has none for bos/eos, from a
 *       TemplateProcessing post-processor), and {@code tokenizer.chat_template}.</li>
 * </ul>
 *
 * <p>Two simplifications, neither visible in Falcon-H1 tokenizers: added tokens that are not {@code normalized} are
 * not re-normalised through encode/decode (an identity for special tokens, which all Falcon-H1 added tokens are);
 * and gguf-py's TemplateProcessing parsing of the <em>pair</em> template, which would add
 * {@code tokenizer.ggml.add_sep_token = false} for Falcon-H1, is not reproduced: llama.cpp's own
 * {@code tiny-F32.gguf} has no such key, and false is llama.cpp's default for gpt2 vocabularies.
 */
public final class GgufTokenizerMetadata {
    public static final int TOKEN_NORMAL = 1;
    public static final int TOKEN_CONTROL = 3;
    public static final int TOKEN_USER_DEFINED = 4;
    public static final int TOKEN_UNUSED = 5;

    /** The GGUF keys this class writes and {@link GgufTokenizerJson} reads back. */
    static final String MODEL_KEY = "tokenizer.ggml.model";
    static final String PRE_KEY = "tokenizer.ggml.pre";
    static final String TOKENS_KEY = "tokenizer.ggml.tokens";
    static final String TOKEN_TYPE_KEY = "tokenizer.ggml.token_type";
    static final String MERGES_KEY = "tokenizer.ggml.merges";
    static final String CHAT_TEMPLATE_KEY = "tokenizer.chat_template";
    /** {@code tokenizer.ggml.model} of a byte-level BPE vocabulary. */
    static final String GPT2_MODEL = "gpt2";
    /** {@code tokenizer.ggml.pre} of every Falcon-H1 tokenizer. */
    static final String FALCON_H1_PRE = "falcon-h1";

    /** gguf-py {@code SpecialVocab.special_token_types} with the GGUF key of each. */
    static final Map<String, String> SPECIAL_KEYS = orderedMap(
            "bos", "tokenizer.ggml.bos_token_id",
            "eos", "tokenizer.ggml.eos_token_id",
            "unk", "tokenizer.ggml.unknown_token_id",
            "sep", "tokenizer.ggml.seperator_token_id", // sic: gguf-py's spelling, which llama.cpp reads
            "pad", "tokenizer.ggml.padding_token_id",
            "cls", "tokenizer.ggml.cls_token_id",
            "mask", "tokenizer.ggml.mask_token_id");

    private static final ObjectMapper JSON = new ObjectMapper();

    private GgufTokenizerMetadata() {
    }

    /**
     * Appends the tokenizer keys to {@code out}, in the converter's order.
     *
     * @param modelDir  the checkpoint folder (tokenizer.json required, tokenizer_config.json and chat_template.jinja
     *                  optional)
     * @param config    the raw config.json (for vocab_size and fallback special ids)
     */
    public static void append(Path modelDir, JsonNode config, GgufMetadata out) {
        Path tokenizerFile = modelDir.resolve("tokenizer.json");
        JsonNode tokenizer = readJson(tokenizerFile, true);
        JsonNode tokenizerConfig = readJson(modelDir.resolve("tokenizer_config.json"), false);

        JsonNode model = tokenizer.path("model");
        if (!"BPE".equals(model.path("type").asText()) || model.path("byte_fallback").asBoolean(false)
                || !"ByteLevel".equals(tokenizer.path("decoder").path("type").asText())) {
            throw new InvalidInputException(tokenizerFile + ": not a byte-level BPE tokenizer (model.type "
                    + model.path("type") + ", decoder " + tokenizer.path("decoder").path("type")
                    + "); Falcon-H1 tokenizers are GPT-2-style BPE");
        }
        JsonNode vocabSizeNode = config.get("vocab_size");
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject()) {
            throw new InvalidInputException(tokenizerFile + ": model.vocab is not an object");
        }
        Map<Integer, String> byId = new HashMap<>();
        vocab.properties().forEach(e -> byId.put(idOf(tokenizerFile, e.getKey(), e.getValue()), e.getKey()));
        JsonNode added = tokenizer.path("added_tokens");
        Map<Integer, JsonNode> addedById = new HashMap<>();
        for (JsonNode a : added) {
            int id = idOf(tokenizerFile, a.path("content").asText(), a.get("id"));
            addedById.put(id, a);
            byId.put(id, a.path("content").asText());
        }
        int maxId = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
        int vocabSize = vocabSizeNode != null && vocabSizeNode.canConvertToInt() ? vocabSizeNode.intValue() : maxId + 1;
        if (maxId >= vocabSize) {
            throw new InvalidInputException(tokenizerFile + ": token id " + maxId + " >= config.json vocab_size "
                    + vocabSize);
        }

        List<String> tokens = new ArrayList<>(vocabSize);
        int[] types = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            String token = byId.get(i);
            if (token == null) {
                tokens.add("[PAD" + i + "]");
                types[i] = TOKEN_UNUSED;
            } else if (addedById.containsKey(i)) {
                if (addedById.get(i).path("special").asBoolean(false) || looksSpecial(token)) {
                    types[i] = TOKEN_CONTROL;
                } else {
                    token = token.replace("\u2581", " "); // pre-normalise user-defined spaces, as the converter does
                    types[i] = TOKEN_USER_DEFINED;
                }
                tokens.add(token);
            } else {
                tokens.add(token);
                types[i] = TOKEN_NORMAL;
            }
        }

        out.putString(MODEL_KEY, GPT2_MODEL);
        out.putString(PRE_KEY, FALCON_H1_PRE);
        out.put(TOKENS_KEY, GgufValue.stringArray(tokens));
        out.put(TOKEN_TYPE_KEY, GgufValue.i32Array(types));
        List<String> merges = merges(tokenizerFile, model.path("merges"));
        if (!merges.isEmpty()) {
            out.put(MERGES_KEY, GgufValue.stringArray(merges));
        }

        Map<String, Integer> specialIds = new LinkedHashMap<>();
        Map<String, Boolean> addSpecial = new LinkedHashMap<>();
        if (tokenizerConfig != null) {
            for (String typ : SPECIAL_KEYS.keySet()) {
                JsonNode add = tokenizerConfig.get("add_" + typ + "_token");
                if (add != null && add.isBoolean()) {
                    addSpecial.put(typ, add.booleanValue());
                }
                JsonNode entry = tokenizerConfig.get(typ + "_token");
                String content = entry == null ? null : entry.isTextual() ? entry.textValue()
                        : entry.path("content").isTextual() ? entry.path("content").textValue() : null;
                if (content != null) {
                    for (JsonNode a : added) {
                        if (content.equals(a.path("content").asText(null))) {
                            specialIds.putIfAbsent(typ, a.path("id").intValue());
                            break;
                        }
                    }
                }
            }
        }
        for (String typ : SPECIAL_KEYS.keySet()) {
            JsonNode id = config.get(typ + "_token_id");
            if (id != null && id.isIntegralNumber() && id.canConvertToInt()) {
                if (id.intValue() < 0) {
                    throw new InvalidInputException(modelDir.resolve("config.json") + ": " + typ + "_token_id is negative");
                }
                specialIds.putIfAbsent(typ, id.intValue());
            }
        }
        templateProcessingAddBos(tokenizer, tokenizerConfig, addSpecial);

        for (Map.Entry<String, Integer> e : specialIds.entrySet()) {
            out.putU32(SPECIAL_KEYS.get(e.getKey()), e.getValue());
        }
        for (Map.Entry<String, Boolean> e : addSpecial.entrySet()) {
            if (e.getKey().equals("bos") || e.getKey().equals("eos") || e.getKey().equals("sep")) {
                out.putBool(addSpecialKey(e.getKey()), e.getValue());
            }
        }
        String template = chatTemplate(modelDir, tokenizerConfig);
        if (template != null) {
            out.putString(CHAT_TEMPLATE_KEY, template);
        }
    }

    /** {@code tokenizer.ggml.add_<type>_token}: whether llama.cpp adds that special token when encoding. */
    static String addSpecialKey(String type) {
        return "tokenizer.ggml.add_" + type + "_token";
    }

    /** gguf-py: a leading special token in the single-sequence TemplateProcessing means add_bos, unless configured. */
    private static void templateProcessingAddBos(JsonNode tokenizer, JsonNode tokenizerConfig, Map<String, Boolean> addSpecial) {
        if (addSpecial.containsKey("bos")) {
            return;
        }
        JsonNode post = tokenizer.path("post_processor");
        List<JsonNode> processors = new ArrayList<>();
        if (post.path("processors").isArray()) {
            post.path("processors").forEach(processors::add);
        } else if (post.isObject()) {
            processors.add(post);
        }
        for (JsonNode p : processors) {
            if ("TemplateProcessing".equals(p.path("type").asText()) && p.path("single").size() > 1) {
                String first = p.path("single").get(0).path("SpecialToken").path("id").asText(null);
                if (first != null) {
                    String bos = tokenizerConfig == null ? first : tokenizerConfig.path("bos_token").asText(null);
                    addSpecial.put("bos", first.equals(bos));
                }
            }
        }
    }

    private static String chatTemplate(Path modelDir, JsonNode tokenizerConfig) {
        JsonNode t = tokenizerConfig == null ? null : tokenizerConfig.get("chat_template");
        if (t != null && t.isTextual()) {
            return t.textValue();
        }
        Path jinja = modelDir.resolve("chat_template.jinja");
        if (Files.exists(jinja)) {
            return InputFiles.readUtf8(jinja, InputFiles.MAX_JSON_BYTES);
        }
        if (t != null && t.isArray()) {
            for (JsonNode choice : t) {
                if ("default".equals(choice.path("name").asText()) && choice.path("template").isTextual()) {
                    return choice.path("template").textValue();
                }
            }
        }
        return null;
    }

    /** tokenizer.json merges: old "a b" strings, or since transformers 4.45 [a, b] pairs (spaces become U+0120). */
    private static List<String> merges(Path file, JsonNode merges) {
        List<String> out = new ArrayList<>(merges.size());
        for (JsonNode m : merges) {
            if (m.isTextual()) {
                out.add(m.textValue());
            } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                out.add(m.get(0).textValue().replace(' ', '\u0120') + " " + m.get(1).textValue().replace(' ', '\u0120'));
            } else {
                throw new InvalidInputException(file + ": unknown merges entry " + m);
            }
        }
        return out;
    }

    /** conversion/base.py {@code does_token_look_special}. */
    static boolean looksSpecial(String t) {
        return t.equals("<pad>") || t.equals("<mask>") || t.equals("<2mass>") || t.equals("[@BOS@]")
                || (t.startsWith("<|") && t.endsWith("|>"))
                || (t.startsWith("<\uFF5C") && t.endsWith("\uFF5C>"))
                || (t.startsWith("<unused") && t.endsWith(">"));
    }

    private static int idOf(Path file, String token, JsonNode id) {
        if (id == null || !id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
            throw new InvalidInputException(file + ": token " + token + " has invalid id " + id);
        }
        return id.intValue();
    }

    private static JsonNode readJson(Path p, boolean required) {
        try {
            return JSON.readTree(InputFiles.readAll(p, InputFiles.MAX_TOKENIZER_BYTES));
        } catch (NoSuchFileException e) {
            if (required) {
                throw new InvalidInputException(p + ": no such file (the converter needs the tokenizer)");
            }
            return null;
        } catch (IOException e) {
            throw new InvalidInputException(p + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    private static Map<String, String> orderedMap(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }
}
