package io.falconq.core.quant;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link FloatRows}' vector scan against the definition it implements, at every length tail. */
class FloatRowsTest {
    @Test
    void findsTheFirstNonFiniteValueWhereverItIs() {
        SplittableRandom r = new SplittableRandom(7);
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.intBitsToFloat(0x7f800001), Float.intBitsToFloat(0xffc12345)};
        for (int t = 0; t < 3000; t++) {
            int len = r.nextInt(1, 200);
            float[] a = new float[len];
            for (int i = 0; i < len; i++) {
                a[i] = (float) r.nextGaussian() * (r.nextBoolean() ? 1e38f : 1e-38f);
            }
            a[r.nextInt(len)] = Float.MAX_VALUE; // finite extremes must pass
            int from = r.nextInt(len);
            int expected = -1;
            if (r.nextInt(4) > 0) {
                int k = r.nextInt(len);
                a[k] = specials[r.nextInt(specials.length)];
                if (r.nextBoolean()) {
                    a[r.nextInt(len)] = specials[r.nextInt(specials.length)];
                }
            }
            for (int i = from; i < len; i++) {
                if (!Float.isFinite(a[i])) {
                    expected = i;
                    break;
                }
            }
            assertEquals(expected, FloatRows.firstNonFinite(a, from, len));
        }
    }
}
