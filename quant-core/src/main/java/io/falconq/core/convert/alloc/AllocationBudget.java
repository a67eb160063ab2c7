package io.falconq.core.convert.alloc;

/**
 * What an allocation must fit: the exact size of the GGUF file (header, metadata, tensor data and alignment padding,
 * as the writer lays it out), or bits per weight over the tensor data (8 × data bytes / all elements, the figure
 * {@code falconq inspect} and llama.cpp's loader print).
 *
 * @param kind  which of the two
 * @param value bytes, or bits per weight
 */
public record AllocationBudget(Kind kind, double value) {
    public enum Kind {
        FILE_BYTES, BITS_PER_WEIGHT
    }

    public AllocationBudget {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException("budget must be positive, got " + value);
        }
    }

    public static AllocationBudget fileBytes(long bytes) {
        return new AllocationBudget(Kind.FILE_BYTES, bytes);
    }

    public static AllocationBudget bitsPerWeight(double bpw) {
        return new AllocationBudget(Kind.BITS_PER_WEIGHT, bpw);
    }

    /** How the budget is recorded in the GGUF and shown: {@code size:BYTES} or {@code bpw:BITS}. */
    public String label() {
        return kind == Kind.FILE_BYTES ? "size:" + (long) value : "bpw:" + value;
    }

    /** The budget in the cost unit of {@link TensorChoice.Option#cost()}: file bytes, or data bytes. */
    long costCap(long totalElements) {
        return kind == Kind.FILE_BYTES ? (long) value : (long) Math.floor(value * totalElements / 8);
    }
}
