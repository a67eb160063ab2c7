package io.falconq.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API quantize path of Q8_0 must write exactly the bytes of the scalar {@code quantize_row_q8_0_ref}
 * port, which {@link LlamaCppBitExactTest} ties to llama.cpp's files. Rows are seeded
 * random blocks plus hand-built edge blocks: zeros and negative zeros, exact .5 ties after scaling, huge outliers,
 * subnormals (whose tiny d makes 1/d overflow to infinity), infinities and NaN.
 */
class LegacyQuantVectorTest {
    private static final int QK = 32;

    private static List<float[]> blocks() {
        List<float[]> blocks = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(20261127L);
        for (int b = 0; b < 4000; b++) {
            float[] x = new float[QK];
            double scale = Math.pow(10, rnd.nextInt(-8, 6));
            for (int j = 0; j < QK; j++) {
                x[j] = (float) (rnd.nextGaussian() * scale);
            }
            if (b % 7 == 0) {
                x[rnd.nextInt(QK)] = (float) (rnd.nextBoolean() ? 1e4 : -1e4) * (float) scale; // outlier
            }
            if (b % 5 == 0) {
                x[rnd.nextInt(QK)] = -x[rnd.nextInt(QK)]; // equal |v| of both signs: first-max tie
            }
            blocks.add(x);
        }
        blocks.add(new float[QK]);
        float[] negZero = new float[QK];
        java.util.Arrays.fill(negZero, -0.0f);
        blocks.add(negZero);
        float[] mixedZero = new float[QK];
        for (int j = 0; j < QK; j += 2) {
            mixedZero[j] = -0.0f;
        }
        blocks.add(mixedZero);
        // Q8_0: amax 127 gives d = 1, id = 1, so k + 0.5 are exact ties for roundf.
        float[] ties = new float[QK];
        for (int j = 0; j < QK; j++) {
            ties[j] = (j % 2 == 0 ? 1 : -1) * (j + 0.5f);
        }
        ties[QK - 1] = 127f;
        blocks.add(ties);
        // Half-integer steps with a negative signed max.
        float[] ties4 = new float[QK];
        for (int j = 0; j < QK; j++) {
            ties4[j] = -8f + j * 0.5f;
        }
        blocks.add(ties4);
        float[] nextToHalf = new float[QK];
        for (int j = 0; j < QK; j++) {
            nextToHalf[j] = (j % 2 == 0 ? 1 : -1) * Math.nextDown(j + 0.5f);
        }
        nextToHalf[0] = 127f;
        blocks.add(nextToHalf);
        float[] subnormal = new float[QK];
        for (int j = 0; j < QK; j++) {
            subnormal[j] = (j % 3 - 1) * Float.MIN_VALUE * (j + 1);
        }
        blocks.add(subnormal);
        float[] oneSubnormal = new float[QK];
        oneSubnormal[5] = -Float.MIN_NORMAL / 3;
        blocks.add(oneSubnormal);
        float[] huge = new float[QK];
        for (int j = 0; j < QK; j++) {
            huge[j] = (j % 2 == 0 ? 1 : -1) * Float.MAX_VALUE / (j + 1);
        }
        blocks.add(huge);
        float[] inf = new float[QK];
        inf[3] = Float.POSITIVE_INFINITY;
        inf[9] = -1.5f;
        blocks.add(inf);
        float[] nan = new float[QK];
        for (int j = 0; j < QK; j++) {
            nan[j] = j - 16.25f;
        }
        nan[4] = Float.NaN;
        blocks.add(nan);
        return blocks;
    }

    private interface RowQuantizer {
        void quantize(float[] src, int srcOff, int n, MemorySegment dst, long dstOff);
    }

    private static void assertSameBytes(String type, int blockBytes, RowQuantizer scalar, RowQuantizer vector) {
        List<float[]> blocks = blocks();
        int n = blocks.size() * QK;
        float[] row = new float[n + 3];
        int off = 3; // an unaligned source offset
        for (int b = 0; b < blocks.size(); b++) {
            System.arraycopy(blocks.get(b), 0, row, off + b * QK, QK);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate((long) blocks.size() * blockBytes);
            MemorySegment v = arena.allocate((long) blocks.size() * blockBytes);
            scalar.quantize(row, off, n, a, 0);
            vector.quantize(row, off, n, v, 0);
            byte[] expected = a.toArray(ValueLayout.JAVA_BYTE);
            byte[] actual = v.toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(expected, actual, type + ": vector and scalar quantize bytes differ");
            // Guard against a vacuous pass: the rows must produce varied, non-zero output.
            assertTrue(expected.length > 50_000 && java.util.Arrays.stream(toInts(expected)).distinct().count() > 200);
        }
    }

    private static int[] toInts(byte[] b) {
        int[] r = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            r[i] = b[i] & 0xFF | (i % 2) << 8;
        }
        return r;
    }

    @Test
    void q8_0VectorMatchesScalar() {
        assertSameBytes("Q8_0", Q8_0Codec.BLOCK_BYTES, Q8_0Codec::quantizeRef, Q8_0Codec::quantizeVector);
    }
}
