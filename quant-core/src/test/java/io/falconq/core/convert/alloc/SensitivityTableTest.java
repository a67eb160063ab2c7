package io.falconq.core.convert.alloc;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.FormatException;
import io.falconq.core.model.TensorRole;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SensitivityTableTest {
    @TempDir
    Path dir;

    private static SensitivityTable sample() {
        Map<GgmlType, Double> q = new EnumMap<>(GgmlType.class);
        q.put(GgmlType.Q2_K, 1.5e-3);
        q.put(GgmlType.Q4_K, -2e-6);
        Map<GgmlType, SensitivityTable.Kind> kinds = new EnumMap<>(GgmlType.class);
        kinds.put(GgmlType.Q2_K, SensitivityTable.Kind.PREDICTED);
        kinds.put(GgmlType.Q4_K, SensitivityTable.Kind.MEASURED);
        return new SensitivityTable(new SensitivityTable.Source("tiny", "calib.txt", 4096, "ab", null, "F32", "direct"),
                List.of(new SensitivityTable.Entry("blk.0.attn_q.weight", TensorRole.ATTN_Q, 0, 65536, q, kinds),
                        SensitivityTable.Entry.measured("output.weight", TensorRole.OUTPUT, -1, 1 << 20,
                                Map.of(GgmlType.Q6_K, 3e-5))));
    }

    @Test
    void roundTripsEveryField() {
        SensitivityTable t = sample();
        Path f = dir.resolve("s.json");
        t.write(f, false);
        SensitivityTable back = SensitivityTable.read(f);
        assertEquals(t, back);
        assertEquals(t.toJson(), back.toJson());
        assertEquals(-2e-6, back.entry("blk.0.attn_q.weight").deltaKld().get(GgmlType.Q4_K));
    }

    @Test
    void rejectsWhatItCannotTrust() throws Exception {
        String good = sample().toJson();
        for (String[] edit : new String[][] {
                {"\"Q2_K\" : 0.0015", "\"Q2_K\" : \"x\""},
                {"\"role\" : \"ATTN_Q\"", "\"role\" : \"ATTN_Z\""},
                {"\"Q6_K\" : 3.0E-5", "\"Q6_Z\" : 3.0E-5"},
                {"\"version\" : 1", "\"version\" : 2"},
                {"falconq-sensitivity", "something-else"},
                {"\"name\" : \"output.weight\"", "\"name\" : \"blk.0.attn_q.weight\""}}) {
            assertTrue(good.contains(edit[0]), edit[0]);
            Path f = dir.resolve("bad.json");
            Files.writeString(f, good.replace(edit[0], edit[1]));
            assertThrows(FormatException.class, () -> SensitivityTable.read(f), edit[1]);
        }
    }
}
