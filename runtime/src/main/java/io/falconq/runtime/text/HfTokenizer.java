package io.falconq.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.falconq.formats.io.InvalidInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A Hugging Face {@code tokenizer.json} run by the HF Rust tokenizers through DJL (the native library ships inside
 * the DJL jar and is extracted to DJL's cache; nothing is downloaded).
 *
 * <p>SPEC.md §1.4: DJL truncates to 512 tokens by default and adds the post-processor's special tokens; both are
 * turned off here. {@link #encode} returns the ids of the text alone; BOS is added by {@link #encodeForModel}
 * when {@code tokenizer_config.json} says {@code add_bos_token: true} (as transformers does).
 */
public final class HfTokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Integer> specialIds;
    private final Integer bosId;
    private final Integer eosId;
    private final boolean addBos;
    private final boolean addEos;
    private final String bosToken;
    private final String eosToken;
    private final String chatTemplate;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, Map<String, Integer> specialIds, String bosToken,
                        String eosToken, boolean addBos, boolean addEos, String chatTemplate) {
        this.tokenizer = tokenizer;
        this.specialIds = Map.copyOf(specialIds);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.bosId = bosToken == null ? null : specialIds.get(bosToken);
        this.eosId = eosToken == null ? null : specialIds.get(eosToken);
        this.addBos = addBos;
        this.addEos = addEos;
        this.chatTemplate = chatTemplate;
    }

    /**
     * Loads {@code tokenizer.json} and (if present) {@code tokenizer_config.json} from a folder, or a
     * {@code tokenizer.json} path directly.
     */
    public static HfTokenizer load(Path path) {
        Path json = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(json)) {
            throw new InvalidInputException(json + ": no tokenizer.json");
        }
        Path dir = json.toAbsolutePath().getParent();
        JsonNode tokJson = readJson(json);
        Map<String, Integer> special = new HashMap<>();
        JsonNode added = tokJson.get("added_tokens");
        if (added != null && added.isArray()) {
            for (JsonNode t : added) {
                if (t.hasNonNull("content") && t.hasNonNull("id")) {
                    special.put(t.get("content").asText(), t.get("id").asInt());
                }
            }
        }
        Path configPath = dir.resolve("tokenizer_config.json");
        String bos = null;
        String eos = null;
        boolean addBos = false;
        boolean addEos = false;
        String template = null;
        if (Files.isRegularFile(configPath)) {
            JsonNode cfg = readJson(configPath);
            bos = tokenText(cfg.get("bos_token"));
            eos = tokenText(cfg.get("eos_token"));
            addBos = cfg.path("add_bos_token").asBoolean(false);
            addEos = cfg.path("add_eos_token").asBoolean(false);
            JsonNode t = cfg.get("chat_template");
            template = t != null && t.isTextual() ? t.asText() : null;
            for (String tok : new String[] {bos, eos}) {
                if (tok != null && !special.containsKey(tok)) {
                    throw new InvalidInputException(configPath + ": special token \"" + tok
                            + "\" is not among the added_tokens of " + json);
                }
            }
        }
        Map<String, String> options = new HashMap<>();
        options.put("addSpecialTokens", "false");
        options.put("truncation", "false");
        options.put("padding", "false");
        try {
            HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(json, options);
            return new HfTokenizer(tok, special, bos, eos, addBos, addEos, template);
        } catch (IOException | RuntimeException e) {
            throw new InvalidInputException(json + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(Files.readAllBytes(p));
        } catch (IOException e) {
            throw new InvalidInputException(p + ": not readable JSON: " + e.getMessage(), e);
        }
    }

    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return n.asText();
        }
        JsonNode content = n.get("content");
        return content != null && content.isTextual() ? content.asText() : null;
    }

    /** The ids of {@code text} alone: no BOS/EOS, no truncation. Special-token strings in the text map to their ids. */
    public int[] encode(String text) {
        Encoding e = tokenizer.encode(text, false, false);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** {@link #encode} with BOS prepended (and EOS appended) as tokenizer_config.json asks. */
    public int[] encodeForModel(String text) {
        int[] ids = encode(text);
        boolean bos = addBos && bosId != null;
        boolean eos = addEos && eosId != null;
        int[] out = new int[ids.length + (bos ? 1 : 0) + (eos ? 1 : 0)];
        if (bos) {
            out[0] = bosId;
        }
        System.arraycopy(ids, 0, out, bos ? 1 : 0, ids.length);
        if (eos) {
            out[out.length - 1] = eosId;
        }
        return out;
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tokenizer.decode(l, skipSpecialTokens);
    }

    public List<String> tokens(String text) {
        return List.of(tokenizer.encode(text, false, false).getTokens());
    }

    public OptionalInt bosId() {
        return bosId == null ? OptionalInt.empty() : OptionalInt.of(bosId);
    }

    public OptionalInt eosId() {
        return eosId == null ? OptionalInt.empty() : OptionalInt.of(eosId);
    }

    public Optional<String> bosToken() {
        return Optional.ofNullable(bosToken);
    }

    public Optional<String> eosToken() {
        return Optional.ofNullable(eosToken);
    }

    /** The id of an added (special) token by its text. */
    public OptionalInt specialTokenId(String content) {
        Integer id = specialIds.get(content);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public boolean addsBos() {
        return addBos;
    }

    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
