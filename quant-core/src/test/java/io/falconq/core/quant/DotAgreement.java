package io.falconq.core.quant;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static io.falconq.core.quant.CodecDifferentialTest.DOT_REL_TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The vector-vs-scalar dot and row-decode comparisons, shared by {@link CodecDifferentialTest} (this JVM's vector width) and
 * {@link VectorWidthsTest}, which runs {@link #main} in child JVMs limited to 128- and 256-bit vectors so that every
 * lane count the vector paths support (4, 8, 16) is exercised whatever the build machine has.
 */
final class DotAgreement {
    private DotAgreement() {
    }

    /** A row of {@code superBlocks} 256-element super-blocks, each of a different kind (edge cases included). */
    static float[] mixedRow(SplittableRandom r, int superBlocks) {
        float[] x = new float[superBlocks * 256];
        for (int b = 0; b < superBlocks; b++) {
            int kind = b % 7;
            for (int i = 0; i < 256; i++) {
                double g = r.nextGaussian();
                x[b * 256 + i] = switch (kind) {
                    case 0 -> (float) g;
                    case 1 -> 0f;                                       // all zero
                    case 2 -> 0.75f;                                    // constant
                    case 3 -> i == 97 ? 1000f : (float) (0.01 * g);     // one huge outlier
                    case 4 -> (float) (1e-6 * g);                       // tiny
                    case 5 -> (float) Math.abs(g) + 2f;                 // all positive, offset
                    default -> i % 32 == 0 ? -40f : (float) g;          // a negative outlier per block of 32
                };
            }
        }
        return x;
    }

    /** Quantizes mixed rows (with and without importance) for every type; returns the largest relative gap. */
    static double checkAllTypes(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double largest = 0;
        for (QuantType q : QuantType.values()) {
            BlockCodec c = q.codec();
            int n = 7 * 256;
            float[] w = mixedRow(r, 7);
            float[] imp = new float[n];
            for (int j = 0; j < n; j++) {
                imp[j] = (float) (r.nextDouble() * r.nextDouble() * 4);
            }
            for (float[] importance : new float[][]{null, imp}) {
                MemorySegment qw = CodecDifferentialTest.quantize(c, w, 1, n, importance);
                float[] x = new float[n + 5];
                for (int j = 0; j < x.length; j++) {
                    x[j] = (float) r.nextGaussian();
                }
                // the whole row, at an unaligned x offset
                largest = Math.max(largest, assertDotsAgree(c, qw, 0, x, 5, n, q + " row"));
                assertVectorDecodeIdentical(c, qw, n, q + " row");
                // every block on its own, so that one wrongly decoded element cannot hide in a long sum
                int bs = c.blockSize() == 1 ? 64 : c.blockSize();
                for (int b = 0; b < n / bs; b++) {
                    largest = Math.max(largest,
                            assertDotsAgree(c, qw, c.rowBytes((long) b * bs), x, b * bs, bs, q + " block " + b));
                }
            }
        }
        return largest;
    }

    /**
     * Asserts dotVector, dotScalar and the double-precision sum of the same dequantized products agree within
     * {@link CodecDifferentialTest#DOT_REL_TOLERANCE}·Σ|w·x|; returns |vector − scalar| / Σ|w·x|.
     */
    static double assertDotsAgree(BlockCodec c, MemorySegment w, long off, float[] x, int xOff, int n, String what) {
        float[] deq = new float[n];
        c.dequantizeRow(w, off, deq, 0, n);
        double exact = 0;
        double scale = 0;
        for (int j = 0; j < n; j++) {
            exact += (double) deq[j] * x[xOff + j];
            scale += Math.abs((double) deq[j] * x[xOff + j]);
        }
        final double exactSum = exact;
        float scalar = c.dotScalar(w, off, x, xOff, n);
        float vector = c.dotVector(w, off, x, xOff, n);
        double tol = DOT_REL_TOLERANCE * scale;
        assertTrue(Math.abs(vector - scalar) <= tol, () -> what + ": vector " + vector + " vs scalar " + scalar
                + " (|diff| " + Math.abs(vector - scalar) + " > " + tol + ")");
        assertTrue(Math.abs(scalar - exactSum) <= tol, () -> what + ": scalar " + scalar + " vs exact " + exactSum);
        assertTrue(Math.abs(vector - exactSum) <= tol, () -> what + ": vector " + vector + " vs exact " + exactSum);
        return scale > 0 ? Math.abs(vector - scalar) / scale : 0;
    }

    /**
     * Asserts {@code decodeRowVector} gives the floats of {@code dequantizeRow} bit for bit (no tolerance: both
     * compute {@code q·d} or {@code q·d ± m} with the same separate float operations), at a non-zero output offset.
     */
    static void assertVectorDecodeIdentical(BlockCodec c, MemorySegment w, int n, String what) {
        float[] scalar = new float[n + 3];
        float[] vector = new float[n + 3];
        c.dequantizeRow(w, 0, scalar, 3, n);
        c.decodeRowVector(w, 0, vector, 3, n);
        for (int j = 3; j < n + 3; j++) {
            int e = j - 3;
            assertTrue(Float.floatToRawIntBits(scalar[j]) == Float.floatToRawIntBits(vector[j]),
                    () -> what + ", element " + e + ": decodeRowVector " + vector[e + 3] + " vs dequantizeRow "
                            + scalar[e + 3]);
        }
    }

    /** Entry point for the child JVMs of {@link VectorWidthsTest}; exit status 0 only if every check passes. */
    public static void main(String[] args) {
        if (!VectorMode.ENABLED) {
            System.out.println("vector paths disabled");
            System.exit(2);
        }
        double largest = checkAllTypes(Long.parseLong(args[0]));
        String quantizers = LegacyQuantLanes.usable()
                ? "q8_0/q4_0 vector blocks " + java.util.Arrays.toString(LegacyQuantLanesTest.compareAll(Long.parseLong(args[0])))
                : "q8_0/q4_0 scalar";
        System.out.printf("lanes=%d largest=%.3g %s%n", VectorDequant.LANES, largest, quantizers);
    }
}
