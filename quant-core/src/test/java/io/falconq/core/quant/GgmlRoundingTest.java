package io.falconq.core.quant;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** nearest_int against {@link Math#rint} (ties to even) and roundf against BigDecimal HALF_UP (ties away from 0). */
class GgmlRoundingTest {
    @Test
    void nearestIntRoundsHalfToEvenInItsValidRange() {
        for (int k = -4194303; k <= 4194303; k += 997) {
            for (float f : new float[]{k, k + 0.5f, k - 0.5f, Math.nextUp((float) k + 0.5f), Math.nextDown((float) k + 0.5f)}) {
                if (Math.abs(f) <= 4194303f) {
                    assertEquals((int) Math.rint(f), GgmlRounding.nearestInt(f), "nearest_int(" + f + ")");
                }
            }
        }
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < 200_000; i++) {
            float f = (float) ((r.nextDouble() * 2 - 1) * Math.pow(2, r.nextInt(-20, 22)));
            assertEquals((int) Math.rint(f), GgmlRounding.nearestInt(f), "nearest_int(" + f + ")");
        }
        assertEquals(0, GgmlRounding.nearestInt(-0.5f));
        assertEquals(-2, GgmlRounding.nearestInt(-1.5f));
        assertEquals(2, GgmlRounding.nearestInt(2.5f));
    }

    @Test
    void roundfRoundsHalfAwayFromZero() {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            float f = (float) ((r.nextDouble() * 2 - 1) * Math.pow(2, r.nextInt(-5, 25)));
            if (i % 3 == 0) {
                f = (float) Math.floor(f) + 0.5f; // exact halves
            }
            float expected = new BigDecimal(f).setScale(0, RoundingMode.HALF_UP).floatValue();
            assertEquals(expected, GgmlRounding.roundf(f), 0f, "roundf(" + f + ")"); // delta 0: -0 == +0
        }
        assertEquals(-3f, GgmlRounding.roundf(-2.5f));
        assertEquals(3f, GgmlRounding.roundf(2.5f));
        assertEquals(0f, GgmlRounding.roundf(0.49999997f)); // float addition 0.49999997f + 0.5f would give 1
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(GgmlRounding.roundf(-0.3f)));
    }

    /** roundfToInt against BigDecimal HALF_UP on every 997th float bit pattern below 2^31 in magnitude, plus halves. */
    @Test
    void roundfToIntIsIntRoundfBelowTwoToThe31() {
        for (long bits = 0; bits <= Float.floatToRawIntBits(0x1.fffffep30f); bits += 997) {
            for (float f : new float[]{Float.intBitsToFloat((int) bits), -Float.intBitsToFloat((int) bits)}) {
                int expected = new BigDecimal(f).setScale(0, RoundingMode.HALF_UP).intValueExact();
                if (expected != GgmlRounding.roundfToInt(f)) {
                    assertEquals(expected, GgmlRounding.roundfToInt(f), "roundfToInt(" + f + ")");
                }
            }
        }
        for (int k = -300; k <= 300; k++) {
            for (float f : new float[]{k + 0.5f, Math.nextDown(k + 0.5f), Math.nextUp(k + 0.5f)}) {
                assertEquals((int) GgmlRounding.roundf(f), GgmlRounding.roundfToInt(f), "roundfToInt(" + f + ")");
            }
        }
        assertEquals(0, GgmlRounding.roundfToInt(0.49999997f));
        assertEquals(-3, GgmlRounding.roundfToInt(-2.5f));
        assertEquals(8388608, GgmlRounding.roundfToInt(8388607.5f));
        assertEquals(0, GgmlRounding.roundfToInt(Float.NaN));
    }
}
