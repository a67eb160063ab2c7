package io.falconq.core.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.model.FalconH1Config;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.*;

class GgufMetadataTest {
    /** Architecture and tokenizer keys, values, types and order equal llama.cpp's converter output. */
    @Test
    void metadataEqualsTinyF32InOrderAndType() throws Exception {
        FalconH1Config c = FalconH1Config.read(TestData.tinyModel().resolve("config.json"));
        GgufMetadata m = FalconH1GgufMetadata.architecture(c, "falcon-h1-tiny", 0);
        GgufTokenizerMetadata.append(TestData.tinyModel(), new ObjectMapper().readTree(
                Files.readAllBytes(TestData.tinyModel().resolve("config.json"))), m);
        try (GgufFile f32 = GgufReader.open(TestData.llamacpp("tiny-F32.gguf"))) {
            assertEquals(f32.metadata().keys(), m.keys());
            for (String k : m.keys()) {
                assertEquals(f32.metadata().get(k), m.get(k), k);
            }
        }
    }

    @Test
    void refusesNormBeforeGateWithGatedNorm() throws Exception {
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(Files.readAllBytes(TestData.tinyModel().resolve("config.json")));
        json.put("mamba_norm_before_gate", true);
        FalconH1Config c = FalconH1Config.parse(json, "config.json");
        var e = assertThrows(InvalidInputException.class, () -> FalconH1GgufMetadata.checkRepresentable(c, json, "config.json"));
        assertTrue(e.getMessage().contains("mamba_norm_before_gate"), e.getMessage());
        // without the gated norm the flag is irrelevant
        json.put("mamba_rms_norm", false);
        FalconH1Config noNorm = FalconH1Config.parse(json, "config.json");
        assertDoesNotThrow(() -> FalconH1GgufMetadata.checkRepresentable(noNorm, json, "config.json"));
        json.put("hidden_act", "gelu");
        assertThrows(InvalidInputException.class, () -> FalconH1GgufMetadata.checkRepresentable(noNorm, json, "config.json"));
    }

    @Test
    void requantizedMovesVersionAndFileTypeToTheEnd() {
        try (GgufFile f32 = GgufReader.open(TestData.llamacpp("tiny-F32.gguf"));
             GgufFile q = GgufReader.open(TestData.llamacpp("tiny-Q4_K_M.gguf"))) {
            GgufMetadata m = FalconH1GgufMetadata.requantized(f32.metadata(), 15);
            assertEquals(q.metadata().keys(), m.keys());
            assertEquals(q.metadata(), m);
        }
    }
}
