package io.falconq.calib;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SequenceSampleTest {
    /** Sequence number {@code id}: 3 rows of 2 columns, every value {@code id}. */
    private static float[] sequence(int id) {
        float[] x = new float[6];
        java.util.Arrays.fill(x, id);
        return x;
    }

    @Test
    void keepsWholeSequencesBelowCapacityInOrder() {
        SequenceSample s = new SequenceSample(4, 2, 0);
        float[] buffer = sequence(0);
        s.add(buffer, 3, 2);
        java.util.Arrays.fill(buffer, 9f); // the caller reuses its buffer: the sample must have copied
        s.add(sequence(1), 3, 2);
        List<float[]> kept = s.sequences();
        assertEquals(2, kept.size());
        assertArrayEquals(sequence(0), kept.get(0));
        assertArrayEquals(sequence(1), kept.get(1));
    }

    @Test
    void reservoirKeepsCapacityDistinctWholeSequencesDeterministically() {
        SequenceSample a = new SequenceSample(3, 2, 7);
        SequenceSample b = new SequenceSample(3, 2, 7);
        for (int id = 0; id < 50; id++) {
            a.add(sequence(id), 3, 2);
            b.add(sequence(id), 3, 2);
        }
        List<float[]> ka = a.sequences();
        List<float[]> kb = b.sequences();
        assertEquals(3, ka.size());
        Set<Float> ids = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(ka.get(i), kb.get(i), "same seed and stream give the same sample");
            assertArrayEquals(sequence((int) ka.get(i)[0]), ka.get(i), "a kept sequence is whole");
            ids.add(ka.get(i)[0]);
        }
        assertEquals(3, ids.size());
    }

    @Test
    void refusesRowsOfAnotherWidth() {
        SequenceSample s = new SequenceSample(2, 3, 0);
        assertThrows(IllegalArgumentException.class, () -> s.add(new float[4], 2, 2));
    }
}
