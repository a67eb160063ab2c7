package io.falconq.formats.gguf;

import io.falconq.formats.tensor.Shapes;

import java.util.Arrays;

/**
 * One GGUF tensor-info record (GGUF-NOTES.md §1.3):
 * <pre>
 * gguf_string_t name;      // at most 63 bytes
 * uint32_t n_dims;         // 1..4
 * int64_t ne[n_dims];      // ne[0] innermost (contiguous), each >= 0
 * ggml_type type;          // uint32
 * uint64_t offset;         // from the start of the data section, a multiple of the alignment
 * </pre>
 *
 * @param ne     dimensions in GGUF order, innermost first, exactly as many as stored (n_dims)
 * @param offset byte offset relative to the data section; for planned tensors not yet written, use -1
 */
public record GgufTensorInfo(String name, GgmlType type, long[] ne, long offset) {
    /** {@code GGML_MAX_NAME} (64) minus the terminating NUL. */
    public static final int MAX_NAME_BYTES = 63;
    /** {@code GGML_MAX_DIMS}. */
    public static final int MAX_DIMS = 4;

    public GgufTensorInfo {
        ne = ne.clone();
    }

    @Override
    public long[] ne() {
        return ne.clone();
    }

    public int nDims() {
        return ne.length;
    }

    public long elementCount() {
        return Shapes.elementCount(ne);
    }

    /** {@code ggml_nbytes}: (ne[0]/block)·typeSize·ne[1]·ne[2]·ne[3]. */
    public long byteSize() {
        return type.bytesFor(elementCount());
    }

    /**
     * The shape in PyTorch order (outermost first), canonicalised: trailing 1s of {@code ne} are dropped first (as
     * {@code ggml_n_dims} does, keeping at least one dimension), then the order is reversed. So gguf-py's 2-D
     * {@code [512, 1]} and llama-quantize's 1-D {@code [512]} both read as {@code [512]}, while {@code ssm_a}'s
     * {@code ne = [1, Hs]} reads as {@code [Hs, 1]}.
     */
    public long[] shape() {
        int n = ne.length;
        while (n > 1 && ne[n - 1] == 1) {
            n--;
        }
        long[] shape = new long[n];
        for (int i = 0; i < n; i++) {
            shape[i] = ne[n - 1 - i];
        }
        return shape;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && type == t.type && Arrays.equals(ne, t.ne)
                && offset == t.offset;
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + Arrays.hashCode(ne)) * 31 + type.hashCode();
    }

    @Override
    public String toString() {
        return name + " " + type + " ne=" + Arrays.toString(ne) + " @" + offset;
    }
}
