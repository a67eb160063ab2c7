package io.falconq.runtime.kernel;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;

import java.lang.foreign.MemorySegment;

/** What every stored {@link WeightMatrix} has whatever its encoding: the tensor's name and its shape. */
abstract sealed class StoredWeightMatrix implements WeightMatrix
        permits DenseWeightMatrix, QuantizedWeightMatrix, GptqWeightMatrix {
    protected final String name;
    /** Output features. */
    protected final int rows;
    /** Input features. */
    protected final int cols;

    StoredWeightMatrix(String name, int rows, int cols) {
        this.name = name;
        this.rows = rows;
        this.cols = cols;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    /** {@code data}, after checking it holds exactly {@link #rows} encoded rows of {@code rowBytes}. */
    protected final MemorySegment requireBytes(MemorySegment data, long rowBytes, Object type) {
        long expected = rowBytes * rows;
        if (data.byteSize() != expected) {
            throw new InvalidInputException(name + ": " + data.byteSize() + " bytes of data, expected " + expected
                    + " for " + rows + " × " + cols + " " + type);
        }
        return data;
    }

    /** Refuses a tensor that is not a 2-D weight {@code [rows, cols]} (PyTorch order). */
    static void requireMatrix(TensorView view) {
        if (view.rank() != 2) {
            throw new InvalidInputException(view.name() + ": expected a 2-D weight, found shape " + view);
        }
    }
}
