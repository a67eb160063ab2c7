package io.falconq.formats.tensor;

import io.falconq.formats.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A tensor as bytes plus shape, over a memory-mapped segment (no copy).
 *
 * @param shape dimensions in PyTorch order, outermost first: a linear weight is {@code [out, in]} and each of
 *              its {@code out} rows is contiguous. (GGUF stores the reverse, {@code ne[0]} = innermost; readers
 *              convert.)
 */
public record TensorView(String name, GgmlType type, long[] shape, MemorySegment data) {
    public TensorView {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    public long elementCount() {
        return Shapes.elementCount(shape);
    }

    /** Elements per row: the innermost dimension (1 for a scalar). */
    public long rowLength() {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    public long rowCount() {
        long len = rowLength();
        return len == 0 ? 0 : elementCount() / len;
    }

    public long rowBytes() {
        return type.bytesFor(rowLength());
    }

    public MemorySegment row(long i) {
        long rb = rowBytes();
        return data.asSlice(i * rb, rb);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorView v && name.equals(v.name) && type == v.type && Arrays.equals(shape, v.shape)
                && data.equals(v.data);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
