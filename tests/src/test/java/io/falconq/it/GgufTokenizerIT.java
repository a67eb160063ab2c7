package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.runtime.text.HfTokenizer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tokenizer a GGUF carries ({@link HfTokenizer#fromGguf}) gives llama.cpp's token ids: llama.cpp itself
 * (node-llama-cpp 3.21.1, {@code tests/node/llama-check.mjs}, {@code model.tokenize(text, true)}) tokenizes every
 * case of {@code tokenizer-vectors.json} (multilingual, whitespace, special tokens inline) and the whole of
 * {@code corpus/valid.txt}, and reports its BOS/EOS ids and whether it adds them; falconq must agree exactly.
 *
 * <p>Besides llama.cpp's own file ({@code tokenizer.ggml.pre = falcon-h1}), the same vocabulary is rewritten with
 * the other pre-tokenizer family ({@code gpt-2}: another regex, merges always applied) and another LLAMA3 name
 * ({@code llama-bpe}), each without {@code add_bos_token} and the second also without BOS/EOS ids, so llama.cpp's
 * defaults are compared too.
 */
class GgufTokenizerIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SOURCE = CliRun.shared("llamacpp/tiny-Q8_0.gguf");

    @Test
    void tokenIdsEqualLlamaCppsOnVectorsAndCorpus() throws Exception {
        List<String> texts = new ArrayList<>(vectorTexts());
        texts.add(Files.readString(CliRun.shared("corpus/valid.txt")));

        Map<String, Path> files = new LinkedHashMap<>();
        files.put("falcon-h1 (llama.cpp's file)", SOURCE);
        files.put("gpt-2, no add_bos_token", rewrite("gpt-2", md -> md.remove("tokenizer.ggml.add_bos_token")));
        files.put("llama-bpe, no add_bos_token or bos/eos ids", rewrite("llama-bpe", md -> md
                .remove("tokenizer.ggml.add_bos_token").remove("tokenizer.ggml.bos_token_id")
                .remove("tokenizer.ggml.eos_token_id")));

        ObjectNode request = JSON.createObjectNode();
        request.put("threads", 2);
        ArrayNode models = request.putArray("models");
        for (Path p : files.values()) {
            ArrayNode t = models.addObject().put("path", p.toString()).putArray("texts");
            texts.forEach(t::add);
        }
        JsonNode response = LlamaCppLoadsIT.runNode(request);

        int m = 0;
        for (Map.Entry<String, Path> file : files.entrySet()) {
            JsonNode llama = response.path("models").get(m++);
            String label = file.getKey();
            assertTrue(llama.path("ok").asBoolean(), label + ": llama.cpp failed: " + llama.path("error").asText());
            long tokens = 0;
            try (GgufFile gguf = GgufReader.open(file.getValue()); HfTokenizer ours = HfTokenizer.fromGguf(gguf)) {
                assertEquals(llama.path("bos").asInt(), ours.bosId().orElse(-1), label + ": BOS id");
                assertEquals(llama.path("eos").asInt(), ours.eosId().orElse(-1), label + ": EOS id");
                assertEquals(llama.path("addBos").asBoolean(), ours.addsBos(), label + ": adds BOS");
                for (int i = 0; i < texts.size(); i++) {
                    int[] expected = GoldenData.ints(llama.path("tokenized").get(i));
                    String text = texts.get(i);
                    assertIdsEqual(expected, ours.encode(text), label, text);
                    assertArrayEquals(withSpecials(llama, expected), ours.encodeForModel(text),
                            label + ": BOS/EOS added to " + preview(text));
                    tokens += expected.length;
                }
            }
            System.out.printf("GgufTokenizerIT %s: %d texts, %d tokens identical to llama.cpp's%n", label,
                    texts.size(), tokens);
        }
    }

    /** llama.cpp's own ids agree with the HF ids of tokenizer-vectors.json, so both references say the same. */
    @Test
    void ggufTokenizerReproducesTheHfVectors() {
        JsonNode vectors = CliRun.readJson(CliRun.shared("models/falcon-h1-tiny/tokenizer-vectors.json"));
        try (GgufFile gguf = GgufReader.open(SOURCE); HfTokenizer ours = HfTokenizer.fromGguf(gguf)) {
            for (JsonNode c : vectors.get("cases")) {
                String text = c.get("text").asText();
                assertIdsEqual(GoldenData.ints(c.get("ids")), ours.encode(text), "HF vectors", text);
                assertArrayEquals(GoldenData.ints(c.get("ids_with_bos")), ours.encodeForModel(text), preview(text));
                assertEquals(text, ours.decode(ours.encode(text), false), "decode of " + preview(text));
            }
        }
    }

    /**
     * {@code eval} on every llama.cpp GGUF gives the same result from the file's own tokenizer as with
     * {@code --tokenizer} (the HF folder): identical tokens make identical windows, so the numbers are equal exactly.
     * Two llama.cpp chunks keep it fast; the whole text is still tokenized both ways.
     */
    @Test
    void evalWithoutTokenizerEqualsEvalWithItOnEveryLlamaCppGguf() {
        Path data = CliRun.shared("corpus/valid.txt");
        List<ConvertedGgufs.Variant> variants = ConvertedGgufs.llamaCppVariants();
        for (ConvertedGgufs.Variant v : variants) {
            Path gguf = CliRun.shared("llamacpp/" + v.fileName());
            CliRun own = CliRun.of("eval", gguf, "--data", data, "--protocol", "llama.cpp", "--chunks", 2, "--json");
            CliRun hf = CliRun.of("eval", gguf, "--data", data, "--protocol", "llama.cpp", "--chunks", 2, "--json",
                    "--tokenizer", CliRun.shared("models/falcon-h1-tiny"));
            assertEquals(0, own.exitCode(), own.describe());
            assertEquals(0, hf.exitCode(), hf.describe());
            for (String field : List.of("windows", "scored_tokens", "mean_nll", "ppl", "ppl_stderr")) {
                assertEquals(hf.json().path(field).asDouble(), own.json().path(field).asDouble(),
                        v.fileName() + ": " + field);
            }
            assertEquals(tokenCount(hf), tokenCount(own), v.fileName() + ": tokens of the whole text");
            System.out.printf("GgufTokenizerIT eval %s: ppl %.4f with and without --tokenizer%n", v.fileName(),
                    own.json().path("ppl").asDouble());
        }
        assertEquals(22, variants.size());
    }

    @Test
    void unsupportedPreTokenizerOrModelIsExit3NamingIt() throws IOException {
        Path qwen = rewrite("qwen2", md -> { });
        CliRun run = CliRun.of("eval", qwen, "--data", CliRun.shared("corpus/valid.txt"), "--chunks", 1);
        assertEquals(3, run.exitCode(), run.describe());
        assertTrue(run.err().contains("tokenizer.ggml.pre \"qwen2\" is not supported"), run.describe());

        Path spm = rewrite("falcon-h1", md -> md.putString("tokenizer.ggml.model", "llama"));
        run = CliRun.of("generate", spm, "-p", "Hello", "-n", 1);
        assertEquals(3, run.exitCode(), run.describe());
        assertTrue(run.err().contains("tokenizer.ggml.model is \"llama\""), run.describe());

        run = CliRun.of("eval", qwen, "--data", CliRun.shared("corpus/valid.txt"), "--chunks", 1,
                "--tokenizer", CliRun.shared("models/falcon-h1-tiny"));
        assertEquals(0, run.exitCode(), "--tokenizer overrides the GGUF's: " + run.describe());
    }

    /** The token count {@code eval} reports on stderr ("eval: MODEL, N tokens, ..."). */
    private static int tokenCount(CliRun run) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(", (\\d+) tokens, ").matcher(run.err());
        assertTrue(m.find(), "no token count in " + run.describe());
        return Integer.parseInt(m.group(1));
    }

    private static int[] withSpecials(JsonNode llama, int[] ids) {
        boolean bos = llama.path("addBos").asBoolean();
        boolean eos = llama.path("addEos").asBoolean();
        int[] out = new int[ids.length + (bos ? 1 : 0) + (eos ? 1 : 0)];
        if (bos) {
            out[0] = llama.path("bos").asInt();
        }
        System.arraycopy(ids, 0, out, bos ? 1 : 0, ids.length);
        if (eos) {
            out[out.length - 1] = llama.path("eos").asInt();
        }
        return out;
    }

    /** Equal ids, or a failure naming the first differing position and the text around it. */
    private static void assertIdsEqual(int[] expected, int[] actual, String label, String text) {
        int n = Math.min(expected.length, actual.length);
        int at = 0;
        while (at < n && expected[at] == actual[at]) {
            at++;
        }
        if (at < n || expected.length != actual.length) {
            assertArrayEquals(java.util.Arrays.copyOfRange(expected, at, Math.min(expected.length, at + 8)),
                    java.util.Arrays.copyOfRange(actual, at, Math.min(actual.length, at + 8)),
                    label + ": ids differ at token " + at + " of " + expected.length + " in " + preview(text));
        }
    }

    private static String preview(String text) {
        String t = text.length() > 60 ? text.substring(0, 60) + "…" : text;
        return "\"" + t.replace("\n", "\\n") + "\"";
    }

    private static List<String> vectorTexts() {
        List<String> out = new ArrayList<>();
        for (JsonNode c : CliRun.readJson(CliRun.shared("models/falcon-h1-tiny/tokenizer-vectors.json")).get("cases")) {
            out.add(c.get("text").asText());
        }
        assertTrue(out.size() >= 50, "only " + out.size() + " vectors");
        return out;
    }

    /** {@link #SOURCE} with {@code tokenizer.ggml.pre} set to {@code pre} and further metadata edits. */
    private static Path rewrite(String pre, Consumer<GgufMetadata> edit) throws IOException {
        Path out = Files.createTempFile(ConvertedGgufs.dir(), "tokenizer-" + pre + "-", ".gguf");
        return GgufEdits.rewrite(SOURCE, out, md -> {
            md.putString("tokenizer.ggml.pre", pre);
            edit.accept(md);
        }, true);
    }
}
