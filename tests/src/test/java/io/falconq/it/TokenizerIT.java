package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.runtime.text.HfTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DJL's HF tokenizers with falconq's settings against {@code tokenizer-vectors.json} (ids checked against the HF Rust
 * tokenizers) and against the ids in the golden files: exact equality, no truncation, BOS only from
 * tokenizer_config.json.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerIT {
    private HfTokenizer tokenizer;

    @BeforeAll
    void load() {
        tokenizer = HfTokenizer.load(CliRun.shared("models/falcon-h1-tiny"));
    }

    @AfterAll
    void close() {
        tokenizer.close();
    }

    @Test
    void everyVectorEncodesExactlyAndDecodesBack() {
        JsonNode vectors = CliRun.readJson(CliRun.shared("models/falcon-h1-tiny/tokenizer-vectors.json"));
        int n = 0;
        for (JsonNode c : vectors.get("cases")) {
            String text = c.get("text").asText();
            int[] ids = tokenizer.encode(text);
            assertArrayEquals(GoldenData.ints(c.get("ids")), ids, "ids of " + text);
            assertArrayEquals(GoldenData.ints(c.get("ids_with_bos")), tokenizer.encodeForModel(text), "with BOS: " + text);
            assertEquals(text, tokenizer.decode(ids, false), "decode of " + text);
            n++;
        }
        assertTrue(n >= 50, "only " + n + " cases");
    }

    @Test
    void specialTokensComeFromTokenizerConfig() {
        assertEquals(1, tokenizer.bosId().orElseThrow());
        assertEquals(11, tokenizer.eosId().orElseThrow());
        assertTrue(tokenizer.addsBos());
    }

    @Test
    void goldenPromptIdsAreReproduced() {
        JsonNode golden = CliRun.readJson(GoldenData.DIR.resolve("golden.json"));
        for (JsonNode p : golden.get("prompts")) {
            String text = p.get("text").asText();
            int[] expected = GoldenData.ints(p.get("ids"));
            int[] ids = p.get("add_bos").asBoolean() ? tokenizer.encodeForModel(text) : tokenizer.encode(text);
            assertArrayEquals(expected, ids, p.get("name").asText());
        }
    }

    @Test
    void aLongTextIsNotTruncated() throws IOException {
        // DJL truncates to 512 tokens unless told not to (SPEC §1.4); perplexity.json counts the whole file
        int[] ids = tokenizer.encodeForModel(Files.readString(CliRun.shared("corpus/valid.txt")));
        assertEquals(GoldenData.perplexity().get("n_tokens").asInt(), ids.length);
        assertEquals(1, ids[0]);
    }
}
