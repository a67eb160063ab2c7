package io.falconq.calib;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A uniform random sample of at most {@code capacity} token rows of one activation, kept by reservoir sampling
 * (Vitter's algorithm R) with a fixed seed, so the same calibration text gives the same sample. AWQ measures the
 * error of a scale candidate on the output of the block that reads the activation (AutoAWQ's
 * {@code module2inspect}), which needs the activations themselves, not only their second moments.
 */
public final class TokenSample {
    private final int capacity;
    private final int cols;
    private final float[] rows;
    private final SplittableRandom random;
    private long seen;

    public TokenSample(int capacity, int cols, long seed) {
        if (capacity < 1) {
            throw new IllegalArgumentException("sample capacity must be positive, found " + capacity);
        }
        this.capacity = capacity;
        this.cols = cols;
        this.rows = new float[Math.multiplyExact(capacity, cols)];
        this.random = new SplittableRandom(0x5eed_a3c1L ^ seed);
    }

    /** Offers {@code n} rows of {@code cols} values (row-major). */
    public void add(float[] x, int n, int cols) {
        if (cols != this.cols) {
            throw new IllegalArgumentException("sample of " + this.cols + " columns cannot take rows of " + cols);
        }
        for (int r = 0; r < n; r++) {
            long slot = seen < capacity ? seen : random.nextLong(seen + 1);
            if (slot < capacity) {
                System.arraycopy(x, r * cols, rows, (int) slot * cols, cols);
            }
            seen++;
        }
    }

    /** Rows kept, min(capacity, rows offered). */
    public int size() {
        return (int) Math.min(capacity, seen);
    }

    public int columns() {
        return cols;
    }

    /** The kept rows, {@link #size()} × {@link #columns()} row-major (a copy). */
    public float[] rows() {
        return Arrays.copyOf(rows, size() * cols);
    }
}
