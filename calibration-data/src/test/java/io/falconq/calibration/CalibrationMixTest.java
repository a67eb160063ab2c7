package io.falconq.calibration;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CalibrationMixTest {
    private static String lines(String prefix, int n, int width) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String l = prefix + i + " ";
            b.append(l.repeat(Math.max(1, width / l.length()))).append('\n');
            if (i % 7 == 6) {
                b.append('\n');
            }
        }
        return b.toString();
    }

    @Test
    void sameInputsAndSeedGiveTheSameBytesAndWeightsSetTheShares() {
        List<CalibrationMix.Source> src = List.of(new CalibrationMix.Source("aa", 3, lines("a", 400, 100)),
                new CalibrationMix.Source("bb", 1, lines("b", 400, 100)));
        CalibrationMix.Sample one = CalibrationMix.sample(src, 20_000, 42);
        CalibrationMix.Sample two = CalibrationMix.sample(src, 20_000, 42);
        assertEquals(one, two);
        assertNotEquals(one.text(), CalibrationMix.sample(src, 20_000, 43).text());
        CalibrationMix.Share a = one.shares().get(0);
        CalibrationMix.Share b = one.shares().get(1);
        assertEquals(15_000, a.budgetCodePoints());
        assertEquals(5_000, b.budgetCodePoints());
        assertTrue(a.codePoints() >= 15_000 && a.codePoints() < 15_100, "overshoot by at most one line");
        assertFalse(a.exhausted());
        assertEquals(CalibrationMix.sha256(lines("a", 400, 100)), a.sourceSha256());
        // both languages appear within the first two blocks
        String head = one.text().substring(0, 4_500);
        assertTrue(head.contains("a1") && head.contains("b"), head);
    }

    @Test
    void shortSourcesGiveAllTheyHaveAndSaySo() {
        CalibrationMix.Sample s = CalibrationMix.sample(List.of(new CalibrationMix.Source("aa", 1, "x y z\n\nw\n"),
                new CalibrationMix.Source("bb", 1, lines("b", 100, 50))), 2_000, 0);
        CalibrationMix.Share a = s.shares().get(0);
        assertTrue(a.exhausted());
        assertEquals(2, a.lines());
        assertEquals(CalibrationMix.sha256("x y z\nw"), a.sha256());
        assertTrue(s.text().startsWith("x y z\nw\n\n"), s.text());
    }

    /** The shuffle is ours (SplitMix64), so its order is fixed for every JDK; these values pin it. */
    @Test
    void shuffleIsAFixedPermutation() {
        int[] p = CalibrationMix.shuffledIndices(10, 0, "de");
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sorted);
        assertArrayEquals(p, CalibrationMix.shuffledIndices(10, 0, "de"));
        assertFalse(Arrays.equals(p, CalibrationMix.shuffledIndices(10, 0, "fr")));
    }

    @Test
    void specsParse() {
        CalibrationMix.Source s = CalibrationMix.Source.parse("de:2.5=builtin:de");
        assertEquals("de", s.language());
        assertEquals(2.5, s.weight());
        assertEquals(CalibrationSets.calibration("de").text(), s.text());
        assertEquals(1, CalibrationMix.Source.parse("fr=builtin:fr").weight());
        assertThrows(IllegalArgumentException.class, () -> CalibrationMix.Source.parse("de=builtin:xx"));
        assertThrows(IllegalArgumentException.class, () -> CalibrationMix.Source.parse("de:0=builtin:de"));
        assertThrows(IllegalArgumentException.class, () -> CalibrationMix.Source.parse("de:x=builtin:de"));
        assertThrows(IllegalArgumentException.class, () -> CalibrationMix.Source.parse("builtin:de"));
        assertThrows(IllegalArgumentException.class, () -> CalibrationMix.sample(List.of(
                new CalibrationMix.Source("de", 1, "a"), new CalibrationMix.Source("de", 1, "b")), 10, 0));
    }
}
