package io.falconq.core.convert.alloc;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TensorTypeFileTest {
    @TempDir
    Path dir;

    @Test
    void anchoredPatternsGiveEachTensorExactlyItsType() {
        Map<String, GgmlType> types = new LinkedHashMap<>();
        types.put("blk.1.attn_q.weight", GgmlType.Q3_K);
        types.put("blk.11.attn_q.weight", GgmlType.Q6_K);
        types.put("output.weight", GgmlType.Q5_K);
        Path f = dir.resolve("types.txt");
        TensorTypeFile.write(f, types, false);
        List<TensorTypeFile.Rule> rules = TensorTypeFile.read(f);
        assertEquals(types, TensorTypeFile.resolve(rules, List.copyOf(types.keySet())));
        // the trap the anchors avoid: llama-quantize searches a bare name inside every name, first rule first
        List<TensorTypeFile.Rule> bare = List.of(new TensorTypeFile.Rule("token_embd.weight", GgmlType.Q3_K),
                new TensorTypeFile.Rule("per_layer_token_embd.weight", GgmlType.Q6_K));
        assertEquals(GgmlType.Q3_K, TensorTypeFile.resolve(bare, List.of("per_layer_token_embd.weight"))
                .get("per_layer_token_embd.weight"));
        Map<String, GgmlType> both = new LinkedHashMap<>();
        both.put("token_embd.weight", GgmlType.Q3_K);
        both.put("per_layer_token_embd.weight", GgmlType.Q6_K);
        TensorTypeFile.write(f, both, true);
        assertEquals(both, TensorTypeFile.resolve(TensorTypeFile.read(f), List.copyOf(both.keySet())));
    }

    @Test
    void malformedTokensAreFormatErrors() throws Exception {
        for (String bad : new String[] {"attn_q", "=q4_k", "attn_q=", "attn_q=q9_z"}) {
            Path f = dir.resolve("bad.txt");
            Files.writeString(f, bad + "\n");
            assertThrows(FormatException.class, () -> TensorTypeFile.read(f), bad);
        }
    }
}
