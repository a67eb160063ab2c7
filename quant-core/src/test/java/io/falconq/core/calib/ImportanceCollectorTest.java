package io.falconq.core.calib;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class ImportanceCollectorTest {
    @Test
    void accumulatesLikeLlamaImatrix() {
        ImportanceCollector c = new ImportanceCollector(false);
        float[] x = new float[16 * 2];
        for (int r = 0; r < 16; r++) {
            x[2 * r] = r;          // Σ r² for r < 16 = 1240
            x[2 * r + 1] = -0.5f;  // 16 · 0.25 = 4
        }
        c.onLinearInput(0, LinearRole.ATTN_Q, x, 16, 2);
        c.onLinearInput(0, LinearRole.ATTN_Q, x, 16, 2);
        c.onLinearInput(0, LinearRole.ATTN_K, x, 15, 2);   // < 16 rows: ignored, as llama-imatrix does
        c.onLinearInput(-1, LinearRole.OUTPUT, x, 16, 2);  // output only with --process-output
        ImportanceStats s = c.stats().get("blk.0.attn_q.weight");
        assertArrayEquals(new float[] {2480f, 8f}, s.sumSq());
        assertEquals(32, s.count());
        assertArrayEquals(new float[] {15f, 0.5f}, s.maxAbs());
        assertArrayEquals(new float[] {77.5f, 0.25f}, s.meanSq());
        assertEquals(List.of("blk.0.attn_q.weight"), List.copyOf(c.stats().keySet()));
        assertFalse(c.stats().containsKey("output.weight"));
    }

    @Test
    void namesSortLikeStdSort() {
        ImportanceCollector c = new ImportanceCollector(true);
        float[] x = new float[16];
        c.onLinearInput(10, LinearRole.FFN_UP, x, 16, 1);
        c.onLinearInput(2, LinearRole.ATTN_OUTPUT, x, 16, 1);
        c.onLinearInput(2, LinearRole.ATTN_K, x, 16, 1);
        c.onLinearInput(-1, LinearRole.OUTPUT, x, 16, 1);
        assertEquals(List.of("blk.10.ffn_up.weight", "blk.2.attn_k.weight", "blk.2.attn_output.weight", "output.weight"),
                List.copyOf(c.stats().keySet()));
    }

    @Test
    void parsesGgufNames() {
        assertEquals(new LinearRole.Located(12, LinearRole.SSM_IN), LinearRole.parseGguf("blk.12.ssm_in.weight"));
        assertEquals(new LinearRole.Located(-1, LinearRole.OUTPUT), LinearRole.parseGguf("output.weight"));
        assertEquals(null, LinearRole.parseGguf("blk.1.ssm_conv1d.weight"));
    }
}
