package io.falconq.calib;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A uniform random sample of at most {@code capacity} whole calls of one activation, kept by reservoir sampling
 * with a fixed seed. Calibration runs every chunk as one forward call from an empty state at position 0
 * ({@code CalibrationRunner}), so one call is one whole token sequence: what a block with state across tokens
 * (attention, the Mamba scan) needs to be run again on the activation, as AWQ's block-output loss does.
 */
public final class SequenceSample {
    private final int capacity;
    private final int cols;
    private final List<float[]> sequences = new ArrayList<>();
    private final SplittableRandom random;
    private long seen;

    public SequenceSample(int capacity, int cols, long seed) {
        if (capacity < 1) {
            throw new IllegalArgumentException("sample capacity must be positive, found " + capacity);
        }
        this.capacity = capacity;
        this.cols = cols;
        this.random = new SplittableRandom(0x5e90_a3c1L ^ seed);
    }

    /** Offers one sequence of {@code n} rows of {@code cols} values (row-major). */
    public void add(float[] x, int n, int cols) {
        if (cols != this.cols) {
            throw new IllegalArgumentException("sample of " + this.cols + " columns cannot take rows of " + cols);
        }
        float[] copy = java.util.Arrays.copyOf(x, n * cols);
        if (seen < capacity) {
            sequences.add(copy);
        } else {
            long slot = random.nextLong(seen + 1);
            if (slot < capacity) {
                sequences.set((int) slot, copy);
            }
        }
        seen++;
    }

    /** The kept sequences, each (rows × {@link #columns()}) row-major. */
    public List<float[]> sequences() {
        return List.copyOf(sequences);
    }

    public int columns() {
        return cols;
    }
}
