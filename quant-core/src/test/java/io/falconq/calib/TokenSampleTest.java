package io.falconq.calib;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenSampleTest {
    /** Row r of the stream holds (r, r + 0.5), so a kept row says which stream row it was. */
    private static float[] stream(int from, int n) {
        float[] x = new float[2 * n];
        for (int r = 0; r < n; r++) {
            x[2 * r] = from + r;
            x[2 * r + 1] = from + r + 0.5f;
        }
        return x;
    }

    @Test
    void keepsEveryRowInOrderBelowCapacity() {
        TokenSample s = new TokenSample(10, 2, 0);
        s.add(stream(0, 3), 3, 2);
        s.add(stream(3, 4), 4, 2);
        assertEquals(7, s.size());
        assertArrayEquals(stream(0, 7), s.rows());
    }

    @Test
    void reservoirIsDeterministicUniformAndMadeOfWholeRows() {
        int cap = 200;
        int total = 4000;
        TokenSample a = new TokenSample(cap, 2, 3);
        TokenSample b = new TokenSample(cap, 2, 3);
        for (int c = 0; c < total / 100; c++) {
            a.add(stream(c * 100, 100), 100, 2);
            b.add(stream(c * 100, 100), 100, 2);
        }
        assertEquals(cap, a.size());
        assertArrayEquals(a.rows(), b.rows(), "same seed and stream give the same sample");
        float[] rows = a.rows();
        java.util.Set<Float> distinct = new java.util.HashSet<>();
        int late = 0;
        for (int r = 0; r < cap; r++) {
            assertEquals(rows[2 * r] + 0.5f, rows[2 * r + 1], 0f, "row " + r + " is a whole stream row");
            distinct.add(rows[2 * r]);
            if (rows[2 * r] >= total / 2f) {
                late++;
            }
        }
        assertEquals(cap, distinct.size(), "no stream row kept twice");
        // uniform: about half the kept rows come from the second half of the stream (binomial sd ≈ 7 at n = 200)
        assertTrue(late > 65 && late < 135, "rows from the second half: " + late);
    }

    @Test
    void refusesRowsOfAnotherWidth() {
        TokenSample s = new TokenSample(4, 3, 0);
        assertThrows(IllegalArgumentException.class, () -> s.add(new float[4], 2, 2));
    }
}
