package io.falconq.core.calib;

import java.util.Arrays;

/**
 * Per-input-channel statistics of one linear layer's input: llama.cpp's importance matrix (sum of squares
 * and the number of token rows seen) plus the largest magnitude per channel.
 *
 * <p>Sums accumulate in float, token by token, in the order llama-imatrix uses ({@code acc[j] += x[j]*x[j]},
 * {@code IMatrixCollector::collect_imatrix}), so that on identical activations the sums are identical; the
 * importance consumed by quantizers is the mean {@code sumSq/count} ({@code GGUF-NOTES.md §6.4}).
 */
public final class ImportanceStats {
    private final String name;
    private final float[] sumSq;   // (cols)
    private final float[] maxAbs;  // (cols); NaN-free, 0 when nothing seen or when loaded from a file
    private final double[] sumAbs; // (cols) Σ|x|, for AWQ's mean |x|
    private long count;
    private final boolean hasMaxAbs;

    public ImportanceStats(String name, int cols) {
        this(name, new float[cols], 0, new float[cols], true);
    }

    private ImportanceStats(String name, float[] sumSq, long count, float[] maxAbs, boolean hasMaxAbs) {
        this.name = name;
        this.sumSq = sumSq;
        this.count = count;
        this.maxAbs = maxAbs;
        this.hasMaxAbs = hasMaxAbs;
        this.sumAbs = new double[sumSq.length];
    }

    /** Statistics read from an imatrix file, which carries no max-abs. */
    public static ImportanceStats ofSums(String name, float[] sumSq, long count) {
        if (count < 0) {
            throw new IllegalArgumentException(name + ": negative count " + count);
        }
        return new ImportanceStats(name, sumSq.clone(), count, new float[sumSq.length], false);
    }

    /** Adds {@code rows} token rows of {@code cols} values each (row-major). */
    public void add(float[] x, int rows, int cols) {
        if (cols != sumSq.length) {
            throw new IllegalArgumentException(name + ": input has " + cols + " columns, earlier inputs had "
                    + sumSq.length + " (llama.cpp: inconsistent size)");
        }
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int j = 0; j < cols; j++) {
                float v = x[base + j];
                sumSq[j] += v * v;
                float a = Math.abs(v);
                sumAbs[j] += a;
                if (a > maxAbs[j]) {
                    maxAbs[j] = a;
                }
            }
        }
        count += rows;
        for (float s : sumSq) {
            if (!Float.isFinite(s)) {
                throw new IllegalStateException(name + ": non-finite activation sum (llama.cpp aborts here too: "
                        + "the model produced NaN/Inf activations)");
            }
        }
    }

    /** Adds another run's sums and counts (llama-imatrix {@code --in-file} merging). */
    public void merge(ImportanceStats other) {
        if (other.sumSq.length != sumSq.length) {
            throw new IllegalArgumentException(name + ": cannot merge " + other.sumSq.length + " columns into " + sumSq.length);
        }
        for (int j = 0; j < sumSq.length; j++) {
            sumSq[j] += other.sumSq[j];
            maxAbs[j] = Math.max(maxAbs[j], other.maxAbs[j]);
        }
        count += other.count;
    }

    public String name() {
        return name;
    }

    public int columns() {
        return sumSq.length;
    }

    public long count() {
        return count;
    }

    public float[] sumSq() {
        return sumSq.clone();
    }

    /** Largest |x| seen per column; only meaningful when {@link #hasMaxAbs()}. */
    public float[] maxAbs() {
        return maxAbs.clone();
    }

    public boolean hasMaxAbs() {
        return hasMaxAbs;
    }

    /** Mean |x| per column (AWQ's activation statistic); zeros when loaded from a file. */
    public float[] meanAbs() {
        float[] out = new float[sumAbs.length];
        for (int j = 0; j < out.length; j++) {
            out[j] = count == 0 ? 0f : (float) (sumAbs[j] / count);
        }
        return out;
    }

    /**
     * The importance quantizers use: mean of x² per column; all ones when nothing was seen, as
     * llama-quantize's loader does for a zero count.
     */
    public float[] meanSq() {
        float[] out = new float[sumSq.length];
        if (count == 0) {
            Arrays.fill(out, 1f);
            return out;
        }
        for (int j = 0; j < out.length; j++) {
            out[j] = sumSq[j] / count;
        }
        return out;
    }

    @Override
    public String toString() {
        return name + " [" + sumSq.length + "] count=" + count;
    }
}
