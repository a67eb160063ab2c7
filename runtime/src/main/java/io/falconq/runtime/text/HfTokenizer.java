package io.falconq.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.falconq.core.convert.GgufTokenizerJson;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.runtime.FalconH1Model;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
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
 *
 * <p>A GGUF's own tokenizer ({@link #fromGguf}) runs through the same library: its {@code tokenizer.*} keys are turned
 * into an equivalent tokenizer.json by {@link GgufTokenizerJson}, with llama.cpp's BOS/EOS rules.
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

    private HfTokenizer(HuggingFaceTokenizer tokenizer, Map<String, Integer> specialIds, String bosToken, Integer bosId,
                        String eosToken, Integer eosId, boolean addBos, boolean addEos, String chatTemplate) {
        this.tokenizer = tokenizer;
        this.specialIds = Map.copyOf(specialIds);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.bosId = bosId;
        this.eosId = eosId;
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
        if (!Files.exists(json)) {
            throw new InvalidInputException(json + ": no tokenizer.json");
        }
        Path dir = json.toAbsolutePath().getParent();
        Map<String, Integer> special = addedTokenIds(readJson(json));
        Path configPath = dir.resolve("tokenizer_config.json");
        String bos = null;
        String eos = null;
        boolean addBos = false;
        boolean addEos = false;
        String template = null;
        if (Files.exists(configPath)) {
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
        try {
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(json, djlOptions()), special, bos, bos == null ? null : special.get(bos), eos,
                    eos == null ? null : special.get(eos), addBos, addEos, template);
        } catch (IOException | RuntimeException e) {
            throw new InvalidInputException(json + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    /** The tokenizer a GGUF carries, encoding as llama.cpp does ({@link GgufTokenizerJson}). */
    public static HfTokenizer fromGguf(GgufFile gguf) {
        GgufTokenizerJson t = GgufTokenizerJson.of(gguf.metadata(), gguf.path().toString());
        Integer bos = t.bosId() < 0 ? null : t.bosId();
        Integer eos = t.eosId() < 0 ? null : t.eosId();
        try (InputStream in = new ByteArrayInputStream(JSON.writeValueAsBytes(t.tokenizerJson()))) {
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(in, djlOptions()), addedTokenIds(t.tokenizerJson()), t.tokenText(bos), bos,
                    t.tokenText(eos), eos, t.addBos(), t.addEos(), t.chatTemplate());
        } catch (IOException | RuntimeException e) {
            throw new InvalidInputException(gguf.path() + ": cannot load the GGUF's tokenizer: " + e.getMessage(), e);
        }
    }

    /** {@code dir} if it holds a tokenizer.json, else null. */
    public static Path folderHolding(Path dir) {
        return dir != null && Files.isRegularFile(dir.resolve("tokenizer.json")) ? dir : null;
    }

    /**
     * The tokenizer beside a model: in the model's folder, or in the folder of a model file; without one, an error
     * naming what it was {@code neededFor}.
     */
    public static HfTokenizer besideModel(Path model, String neededFor) {
        Path dir = folderHolding(Files.isDirectory(model) ? model : model.getParent());
        if (dir == null) {
            throw new InvalidInputException(model + ": no tokenizer.json beside the model (" + neededFor + ")");
        }
        return load(dir);
    }

    /**
     * The tokenizer to use with a model: {@code tokenizerDir} when given, else a GGUF's own tokenizer, else the
     * tokenizer.json of an HF checkpoint folder.
     */
    public static HfTokenizer forModel(FalconH1Model model, Path tokenizerDir) {
        if (tokenizerDir != null) {
            return load(tokenizerDir);
        }
        if (model.format() == FalconH1Model.Format.GGUF) {
            try (GgufFile gguf = GgufReader.open(model.path())) {
                return fromGguf(gguf);
            }
        }
        return load(model.tokenizerDir().orElseThrow(() -> new InvalidInputException(model.path()
                + ": no tokenizer.json beside the model; give --tokenizer DIR")));
    }

    /** DJL with SPEC.md §1.4's settings: no special tokens added, no truncation, no padding. */
    private static Map<String, String> djlOptions() {
        return Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");
    }

    private static Map<String, Integer> addedTokenIds(JsonNode tokenizerJson) {
        Map<String, Integer> special = new HashMap<>();
        JsonNode added = tokenizerJson.get("added_tokens");
        if (added != null && added.isArray()) {
            for (JsonNode t : added) {
                if (t.hasNonNull("content") && t.hasNonNull("id")) {
                    special.put(t.get("content").asText(), t.get("id").asInt());
                }
            }
        }
        return special;
    }

    private static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(InputFiles.readAll(p, InputFiles.MAX_TOKENIZER_BYTES));
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

    /**
     * The BOS id {@link #encodeForModel} puts first, or −1 when it adds none: the id every chunk or window starts with
     * (llama-imatrix's and llama-perplexity's substitution).
     */
    public int addedBosId() {
        return addBos && bosId != null ? bosId : -1;
    }

    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
