package io.falconq.runtime.kernel;

import io.falconq.core.quant.BlockCodec;
import io.falconq.core.quant.QuantType;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seeded test rows in every stored ggml encoding: rows quantized by the codec from gaussian data and from the
 * edge patterns of STYLE.md §10(b) (all zero, constant, one huge outlier, tiny values), plus rows of random bytes
 * with finite scale fields, which reach code patterns the quantizers never write (−128 in Q8_0, every Q6_K scale).
 */
final class QuantBlocks {
    /** Every type a GGUF weight can be stored in with a falconq codec (Q8_K is activations only). */
    static final List<QuantType> WEIGHT_TYPES = List.of(QuantType.F32, QuantType.F16, QuantType.BF16, QuantType.Q8_0,
            QuantType.Q4_0, QuantType.Q4_1, QuantType.Q5_0, QuantType.Q5_1, QuantType.Q2_K, QuantType.Q3_K,
            QuantType.Q4_K, QuantType.Q5_K, QuantType.Q6_K, QuantType.IQ4_NL, QuantType.IQ4_XS);

    /** Row patterns, in the order {@link #rows} lays them out. */
    enum Pattern { GAUSSIAN, ALL_ZERO, CONSTANT, HUGE_OUTLIER, TINY, RANDOM_BYTES }

    private QuantBlocks() {
    }

    /** Float source values of one row of the given pattern (RANDOM_BYTES: none, see {@link #rows}). */
    static float[] source(Pattern p, Random r, int n) {
        float[] x = new float[n];
        switch (p) {
            case GAUSSIAN, RANDOM_BYTES -> {
                for (int i = 0; i < n; i++) {
                    x[i] = (float) r.nextGaussian();
                }
            }
            case ALL_ZERO -> {
            }
            case CONSTANT -> java.util.Arrays.fill(x, 0.75f);
            case HUGE_OUTLIER -> {
                for (int i = 0; i < n; i++) {
                    x[i] = (float) (r.nextGaussian() * 0.01);
                }
                x[r.nextInt(n)] = -3.0e4f;
            }
            case TINY -> {
                for (int i = 0; i < n; i++) {
                    x[i] = (float) (r.nextGaussian() * 1e-6);
                }
            }
        }
        return x;
    }

    /**
     * {@code rows} encoded rows of {@code n} elements, cycling through the patterns; random-byte rows are redrawn
     * until {@code firstInvalidBlock} accepts them (finite d/m/dmin), and are skipped for the float types, whose
     * random bit patterns are mostly NaN.
     */
    static MemorySegment rows(QuantType type, int rows, int n, long seed) {
        BlockCodec codec = type.codec();
        long rowBytes = codec.rowBytes(n);
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.toIntExact(rowBytes * rows)]);
        Random r = new Random(seed);
        Pattern[] patterns = Pattern.values();
        for (int row = 0; row < rows; row++) {
            Pattern p = patterns[row % patterns.length];
            MemorySegment dst = seg.asSlice(row * rowBytes, rowBytes);
            if (p == Pattern.RANDOM_BYTES && codec.blockSize() > 1) {
                byte[] bytes = new byte[Math.toIntExact(rowBytes)];
                do {
                    r.nextBytes(bytes);
                    MemorySegment.copy(MemorySegment.ofArray(bytes), 0, dst, 0, rowBytes);
                } while (codec.firstInvalidBlock(dst, 0, n) >= 0);
            } else {
                codec.quantizeRow(source(p, r, n), 0, n, null, dst, 0);
            }
        }
        return seg;
    }

    /** Names of the pattern of each row, for messages. */
    static List<String> patternNames(int rows) {
        List<String> names = new ArrayList<>();
        for (int row = 0; row < rows; row++) {
            names.add(Pattern.values()[row % Pattern.values().length].name());
        }
        return names;
    }
}
