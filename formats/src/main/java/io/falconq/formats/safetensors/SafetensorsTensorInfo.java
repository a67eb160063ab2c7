package io.falconq.formats.safetensors;

import io.falconq.formats.tensor.Shapes;

import java.util.Arrays;

/**
 * One tensor entry of a safetensors header: {@code "name": {"dtype": .., "shape": [..], "data_offsets": [begin, end]}}.
 *
 * @param shape PyTorch order, outermost first (as stored)
 * @param begin first byte, relative to the start of the data section (just after the header)
 * @param end   one past the last byte, relative to the start of the data section
 */
public record SafetensorsTensorInfo(String name, SafetensorsDtype dtype, long[] shape, long begin, long end) {
    public SafetensorsTensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return end - begin;
    }

    public long elementCount() {
        return Shapes.elementCount(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SafetensorsTensorInfo i && name.equals(i.name) && dtype == i.dtype
                && Arrays.equals(shape, i.shape) && begin == i.begin && end == i.end;
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + Long.hashCode(begin);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
    }
}
