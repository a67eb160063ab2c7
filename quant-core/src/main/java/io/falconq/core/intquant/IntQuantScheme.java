package io.falconq.core.intquant;

/**
 * How a linear weight is quantized to integers for the GPTQ checkpoint layout (SPEC.md §3).
 *
 * @param bits       4 or 8
 * @param groupSize  input columns sharing one scale/zero per output row, or -1 for one per output row
 *                   ("per channel", what {@code group_size: -1} means in {@code quantization_config})
 * @param symmetric  zero point fixed at 2^(bits−1) (GPTQ {@code sym=True}: 8 for int4, 128 for int8), which
 *                   the Marlin kernels require; otherwise a per-group zero {@code round(−min/scale)}
 * @param actOrder   GPTQ {@code desc_act}: columns processed by decreasing Hessian diagonal; groups are then
 *                   formed in that order and {@code g_idx} records each input column's group
 */
public record IntQuantScheme(int bits, int groupSize, boolean symmetric, boolean actOrder) {
    public IntQuantScheme {
        if (bits != 4 && bits != 8) {
            throw new IllegalArgumentException("bits must be 4 or 8, found " + bits);
        }
        if (groupSize != -1 && (groupSize < 8 || groupSize % 8 != 0)) {
            throw new IllegalArgumentException("group size must be -1 (per channel) or a positive multiple of 8, found "
                    + groupSize);
        }
    }

    /** int8, one scale per output channel, symmetric: the {@code w8} scheme. */
    public static IntQuantScheme w8() {
        return new IntQuantScheme(8, -1, true, false);
    }

    /** int4, groups of {@code groupSize} input columns, symmetric: the {@code w4} scheme. */
    public static IntQuantScheme w4(int groupSize) {
        return new IntQuantScheme(4, groupSize, true, false);
    }

    public IntQuantScheme withActOrder(boolean on) {
        return new IntQuantScheme(bits, groupSize, symmetric, on);
    }

    public IntQuantScheme withSymmetric(boolean on) {
        return new IntQuantScheme(bits, groupSize, on, actOrder);
    }

    /** Largest integer level, 2^bits − 1. */
    public int maxq() {
        return (1 << bits) - 1;
    }

    /** Values per int32 word. */
    public int packFactor() {
        return 32 / bits;
    }

    /** Columns per group for a weight with {@code in} input columns. */
    public int effectiveGroupSize(int in) {
        return groupSize < 0 ? in : groupSize;
    }

    /** Number of groups, ⌈in / group⌉. */
    public int groupCount(int in) {
        int g = effectiveGroupSize(in);
        return (in + g - 1) / g;
    }
}
