package io.falconq.core.quant;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The vector Q8_0 and Q4_0 block quantizers must write the scalar ports' bytes exactly (the ports themselves are
 * pinned to llama.cpp's files by {@link LlamaCppBitExactTest}), on seeded blocks that cover every magnitude a float
 * can have, rounding ties, signed zeros, subnormal scales whose inverse overflows, and non-finite values (which the
 * vector path must hand back to the scalar port). {@link DotAgreement#main} runs the same check at 8 lanes in a
 * child JVM.
 */
class LegacyQuantLanesTest {
    private static final int QK = 32;

    @Test
    void vectorBlocksEqualTheScalarPorts() {
        assertEquals(VectorMode.ENABLED && (VectorMode.FLOAT_SPECIES.length() == 8
                || VectorMode.FLOAT_SPECIES.length() == 16), LegacyQuantLanes.usable());
        if (!LegacyQuantLanes.usable()) {
            return; // the codecs then run only the scalar ports, which LlamaCppBitExactTest covers
        }
        int[] vectorEncoded = compareAll(20261127L);
        // nearly every block is an ordinary one that the vector path must encode itself
        assertTrue(vectorEncoded[0] > 40_000 && vectorEncoded[1] > 40_000, Arrays.toString(vectorEncoded));
    }

    /** A scalar port: writes one block of 32 values. */
    @FunctionalInterface
    private interface ScalarPort {
        void quantize(float[] x, int xOffset, byte[] out, int outOffset);
    }

    /** A vector block quantizer: false when it hands the block back to the scalar port (non-finite values). */
    @FunctionalInterface
    private interface VectorPath {
        boolean quantize(float[] x, int xOffset, byte[] out, int outOffset);
    }

    private record Quantizers(String type, ScalarPort scalar, VectorPath vector) {
    }

    private static final List<Quantizers> QUANTIZERS = List.of(
            new Quantizers("Q8_0", Q8_0Codec::quantizeBlockScalar, LegacyQuantLanes::q8_0Block),
            new Quantizers("Q4_0", Q4_0Codec::quantizeBlockScalar, LegacyQuantLanes::q4_0Block));

    /** Compares both quantizers on every test block; returns how many blocks each vector path encoded. */
    static int[] compareAll(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] encoded = new int[QUANTIZERS.size()];
        byte[] scalar = new byte[Q8_0Codec.BLOCK_BYTES];
        byte[] vector = new byte[Q8_0Codec.BLOCK_BYTES];
        for (int t = 0; t < 50_000; t++) {
            float[] x = block(r, t % 12);
            for (int q = 0; q < QUANTIZERS.size(); q++) {
                Quantizers quantizers = QUANTIZERS.get(q);
                Arrays.fill(scalar, (byte) 0x5A);
                Arrays.fill(vector, (byte) 0x5A);
                quantizers.scalar().quantize(x, 0, scalar, 0);
                if (quantizers.vector().quantize(x, 0, vector, 0)) {
                    encoded[q]++;
                    assertArrayEquals(scalar, vector, () -> quantizers.type() + " block " + Arrays.toString(x));
                }
            }
        }
        return encoded;
    }

    private static float[] block(SplittableRandom r, int kind) {
        float[] x = new float[QK];
        // magnitudes from subnormal to near overflow, so d, 1/d and x·id meet every float range
        float scale = (float) Math.pow(10, r.nextInt(-44, 38));
        for (int j = 0; j < QK; j++) {
            x[j] = (float) r.nextGaussian() * scale;
        }
        switch (kind) {
            case 1 -> Arrays.fill(x, 0f);
            case 2 -> {
                for (int j = 0; j < QK; j++) {
                    x[j] = r.nextBoolean() ? -0f : 0f;
                }
            }
            case 3 -> Arrays.fill(x, (float) r.nextGaussian());
            case 4 -> x[r.nextInt(QK)] = 1e6f * scale;
            case 5 -> {
                // Q8_0 with amax 127 has d = 1: halves are roundf's ties, which go away from zero
                for (int j = 0; j < QK; j++) {
                    x[j] = r.nextInt(-254, 255) / 2f;
                }
                x[r.nextInt(QK)] = r.nextBoolean() ? 127f : -127f;
            }
            case 6 -> {
                // Q4_0 with max −8 has d = 1: x + 8.5 lands on integers, the (int) cast's edges
                for (int j = 0; j < QK; j++) {
                    x[j] = r.nextInt(-16, 17) / 2f;
                }
                x[r.nextInt(QK)] = -8f;
            }
            case 7 -> {
                // the same magnitude with both signs: ggml keeps the first one as max
                int a = r.nextInt(QK);
                int b = r.nextInt(QK);
                x[a] = 3 * scale;
                x[b] = -3 * scale;
            }
            case 8 -> x[r.nextInt(QK)] = Float.NaN;
            case 9 -> x[r.nextInt(QK)] = r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
            case 10 -> {
                for (int j = 0; j < QK; j++) {
                    x[j] = Float.intBitsToFloat(r.nextInt(1, 64)) * (r.nextBoolean() ? 1 : -1); // tiny subnormals
                }
            }
            default -> {
            }
        }
        return x;
    }
}
