package io.falconq.core.model;

import io.falconq.formats.testing.SharedGroundTruth;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.io.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class FalconH1ConfigTest {
    static Path shared() {
        return SharedGroundTruth.root();
    }

    @Test
    void tinyModelSizesAndDerivedValues() {
        FalconH1Config c = FalconH1Config.read(shared().resolve("models/falcon-h1-tiny/config.json"));
        assertEquals(256, c.hiddenSize());
        assertEquals(384, c.ssmInnerSize());
        // SPEC.md §1.1: conv_dim = Di + 2GS, d_in_proj = 2Di + 2GS + Hs
        assertEquals(384 + 2 * 32, c.convDim());
        assertEquals(2 * 384 + 2 * 32 + 6, c.inProjSize());
        assertTrue(c.warnings().isEmpty(), c.warnings().toString());
        assertEquals(0.25, c.ssmMultipliers()[1]);
    }

    /**
     * The {@code _provenance.computed_parameter_count} figure in each shared config was computed by the config's
     * author from the same shapes; for 0.5B and 7B it also matches published totals (521M, 7.59B) cited there.
     */
    @Test
    void parameterCountsMatchProvenanceOfEveryRealSize() throws Exception {
        ObjectMapper json = new ObjectMapper();
        try (var files = Files.list(shared().resolve("configs"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
                var root = json.readTree(f.toFile());
                String stated = root.path("_provenance").path("computed_parameter_count").asText();
                long expected = Long.parseLong(stated.substring(0, stated.indexOf(' ')).replace(",", ""));
                FalconH1Config c = FalconH1Config.parse(root, f.toString());
                assertEquals(expected, c.parameterCounts().total(), f.getFileName().toString());
            }
        }
    }

    @Test
    void missingMultipliersAreWarnedNotSilent() throws Exception {
        FalconH1Config c = FalconH1Config.read(shared().resolve("configs/falcon-h1-3b.json"));
        assertTrue(c.warnings().stream().anyMatch(w -> w.startsWith("embedding_multiplier")), c.warnings().toString());
    }

    @Test
    void rejectsOtherModelTypesAndInconsistentSizes() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(shared().resolve("models/falcon-h1-tiny/config.json").toFile());
        root.put("model_type", "llama");
        var e = assertThrows(InvalidInputException.class, () -> FalconH1Config.parse(root, "config.json"));
        assertTrue(e.getMessage().contains("\"llama\""), e.getMessage());
        root.put("model_type", "falcon_h1");
        root.put("mamba_d_head", 60);
        e = assertThrows(InvalidInputException.class, () -> FalconH1Config.parse(root, "config.json"));
        assertTrue(e.getMessage().contains("mamba_d_ssm 384"), e.getMessage());
        root.put("mamba_d_head", 64);
        root.put("hidden_size", -3);
        e = assertThrows(InvalidInputException.class, () -> FalconH1Config.parse(root, "config.json"));
        assertTrue(e.getMessage().contains("hidden_size"), e.getMessage());
    }
}
