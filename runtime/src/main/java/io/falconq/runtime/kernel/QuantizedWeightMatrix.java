package io.falconq.runtime.kernel;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.LittleEndianLayout;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.quant.BlockCodec;
import io.falconq.core.quant.HalfFloat;
import io.falconq.core.quant.QuantType;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix read in its ggml block encoding straight from the memory-mapped GGUF: every type falconq has a
 * codec for (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K … Q6_K, IQ4_NL, IQ4_XS, and F16, BF16, F32). Nothing is
 * dequantized ahead of time.
 *
 * <ul>
 *   <li>{@link #decodeRow}: the codec's {@code decodeRow} (its Vector API decode, or with the vector paths off its
 *       {@code dequantizeRow}, a port of ggml's {@code dequantize_row_*}; the same floats bit for bit);</li>
 *   <li>{@link #dot}: the codec's dot product (scalar reference or Vector API path, {@code BlockCodec#dot});</li>
 *   <li>window mode goes through {@link QuantMatMul}, which decodes panels of rows once and reuses them for every
 *       token of the window.</li>
 * </ul>
 */
public final class QuantizedWeightMatrix extends StoredWeightMatrix {

    private final QuantType type;
    private final BlockCodec codec;
    private final long rowBytes;
    private final MemorySegment data;

    public QuantizedWeightMatrix(String name, QuantType type, int rows, int cols, MemorySegment data) {
        super(name, rows, cols);
        if (type == QuantType.Q8_K) {
            throw new InvalidInputException(name + ": Q8_K is an activation format, not a weight type");
        }
        this.type = type;
        this.codec = type.codec();
        int bs = codec.blockSize();
        if (cols % bs != 0) {
            throw new InvalidInputException(name + ": rows of " + cols + " values are not a whole number of " + type
                    + " blocks of " + bs);
        }
        this.rowBytes = codec.rowBytes(cols);
        this.data = requireBytes(data, rowBytes, type);
    }

    /**
     * A 2-D tensor {@code [rows, cols]} (PyTorch order) of any type with a codec; every row is checked as
     * {@code ggml_validate_row_data} does (no NaN/Inf in values or block scales), naming the first bad block.
     */
    public static QuantizedWeightMatrix of(TensorView view) {
        requireMatrix(view);
        QuantType type = QuantType.find(view.type()).orElseThrow(() -> new InvalidInputException(view.name()
                + ": tensor type " + view.type() + " has no falconq codec (supported: "
                + java.util.Arrays.toString(QuantType.values()) + ")"));
        QuantizedWeightMatrix m = new QuantizedWeightMatrix(view.name(), type, Math.toIntExact(view.dim(0)),
                Math.toIntExact(view.dim(1)), view.data());
        m.validate();
        return m;
    }

    private void validate() {
        for (int r = 0; r < rows; r++) {
            long bad = codec.firstInvalidBlock(data, r * rowBytes, cols);
            if (bad >= 0) {
                String unit = codec.blockSize() == 1 ? "element " : "block ";
                throw new InvalidInputException(name + ": row " + r + ", " + unit + bad + " (byte offset "
                        + (r * rowBytes + bad * codec.typeSize()) + " in the tensor) has a NaN or infinite "
                        + (codec.blockSize() == 1 ? "value" : "scale") + " (" + type + ")");
            }
        }
    }

    @Override
    public GgmlType type() {
        return type.ggmlType();
    }

    public QuantType quantType() {
        return type;
    }

    /** Bytes of one encoded row. */
    public long rowBytes() {
        return rowBytes;
    }

    /** The encoded rows, row-major. */
    public MemorySegment data() {
        return data;
    }

    @Override
    public void decodeRow(int row, float[] dst, int dstOff) {
        decodeRow(row, 0, cols, dst, dstOff);
    }

    /** Decodes columns {@code [k0, k1)} (block-aligned) of {@code row} into {@code dst[dstOff ..]}. */
    public void decodeRow(int row, int k0, int k1, float[] dst, int dstOff) {
        long off = row * rowBytes + codec.rowBytes(k0);
        codec.decodeRow(data, off, dst, dstOff, k1 - k0);
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        return KernelMode.VECTOR ? codec.dotVector(data, row * rowBytes, x, xOff, cols)
                : codec.dotScalar(data, row * rowBytes, x, xOff, cols);
    }

    /**
     * Writes the per-32-block minimum {@code m} of a Q4_1 / Q5_1 row (the fp16 field after {@code d}) to
     * {@code dst[dstOff ..]}, one per block: the weight side of the Q8_1 correction term
     * ({@link ActivationQuantizer}).
     */
    public void blockMins(int row, float[] dst, int dstOff) {
        if (type != QuantType.Q4_1 && type != QuantType.Q5_1) {
            throw new IllegalStateException(name + ": " + type + " blocks have no minimum field");
        }
        int ts = codec.typeSize();
        long base = row * rowBytes;
        for (int b = 0; b < cols / 32; b++) {
            dst[dstOff + b] = HalfFloat.fp16ToFp32(data.get(LittleEndianLayout.SHORT, base + (long) b * ts + 2));
        }
    }
}
