package io.falconq.formats.imatrix;

/**
 * The statistics an imatrix file holds for one weight (GGUF-NOTES.md §6.4): per input column the sum of squared
 * activations, and how many activation rows (tokens) were summed, once per matrix ({@code nMat} is 1 for dense
 * weights, the expert count for MoE).
 *
 * @param name   the weight's GGUF name, e.g. {@code blk.0.attn_k.weight}
 * @param sums   {@code in_sum2}, {@code nMat × columns} values; for the legacy format already divided by the count and
 *               multiplied by {@code ncall}
 * @param counts per matrix the token count ({@code lround} of the stored float), or for the legacy format one value,
 *               {@code ncall}
 */
public record ImatrixEntry(String name, float[] sums, long[] counts) {
    public ImatrixEntry {
        sums = sums.clone();
        counts = counts.clone();
    }

    @Override
    public float[] sums() {
        return sums.clone();
    }

    @Override
    public long[] counts() {
        return counts.clone();
    }

    /** Columns per matrix ({@code ne[0]} of the weight). */
    public int columns() {
        return sums.length / counts.length;
    }
}
