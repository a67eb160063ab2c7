package io.falconq.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link FloatRows}' vector loops against the definitions they implement, on every bit pattern and length tail. */
class FloatRowsTest {
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void widensEveryBf16PatternExactlyAtEveryAlignmentAndLength() {
        try (Arena arena = Arena.ofConfined()) {
            int n = 1 << 16;
            MemorySegment src = arena.allocate(2L * n + 2);
            for (int offset : new int[]{0, 2, 1}) { // 1: an odd byte address, as an unaligned mapped tensor has
                for (int h = 0; h < n; h++) {
                    src.set(I16_LE, offset + 2L * h, (short) h);
                }
                for (int count : new int[]{n, n - 1, 37, 15, 1, 0}) {
                    float[] dst = new float[count];
                    FloatRows.widenBf16(src, offset, dst, count);
                    for (int h = 0; h < count; h++) {
                        int expected = h << 16; // BF16 is the top half of a float32
                        assertEquals(expected, Float.floatToRawIntBits(dst[h]), "pattern " + Integer.toHexString(h));
                    }
                }
            }
        }
    }

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
