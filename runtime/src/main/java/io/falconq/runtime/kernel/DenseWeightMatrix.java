package io.falconq.runtime.kernel;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.LittleEndianLayout;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.quant.BlockCodec;
import io.falconq.core.quant.QuantType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * An unquantized weight matrix (F32, F16 or BF16) read in place from a memory-mapped file.
 *
 * <p>Rows decode through the type's codec ({@code BlockCodec#decodeRow}, exact widening); {@link #dot} has its own
 * Vector API path (two accumulators) that sums in a different (fixed) order from the scalar reference.
 */
public final class DenseWeightMatrix extends StoredWeightMatrix {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, F.vectorShape());

    private final GgmlType type;
    private final BlockCodec codec;
    private final long rowBytes;
    private final MemorySegment data;

    public DenseWeightMatrix(String name, GgmlType type, int rows, int cols, MemorySegment data) {
        super(name, rows, cols);
        if (type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.BF16) {
            throw new InvalidInputException(name + ": weight type " + type
                    + " is not supported by the float runtime (F32, F16, BF16; quantized types need their codec)");
        }
        this.type = type;
        this.codec = QuantType.of(type).codec();
        this.rowBytes = (long) cols * type.typeSize();
        this.data = requireBytes(data, rowBytes, type);
    }

    /** A 2-D tensor {@code [rows, cols]}, PyTorch order. */
    public static DenseWeightMatrix of(TensorView view) {
        requireMatrix(view);
        return new DenseWeightMatrix(view.name(), view.type(), Math.toIntExact(view.dim(0)),
                Math.toIntExact(view.dim(1)), view.data());
    }

    /** A float32 matrix over a copy of a heap array, for tests and for weights the loader had to transform. */
    public static DenseWeightMatrix ofFloats(String name, int rows, int cols, float[] values) {
        return wrapFloats(name, rows, cols, values.clone());
    }

    /** A float32 matrix over {@code values} itself, which the caller hands over and must not change afterwards. */
    public static DenseWeightMatrix wrapFloats(String name, int rows, int cols, float[] values) {
        return new DenseWeightMatrix(name, GgmlType.F32, rows, cols, MemorySegment.ofArray(values));
    }

    @Override
    public GgmlType type() {
        return type;
    }

    @Override
    public void decodeRow(int row, float[] dst, int dstOff) {
        codec.decodeRow(data, row * rowBytes, dst, dstOff, cols);
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        return KernelMode.VECTOR ? dotVector(row, x, xOff) : dotScalar(row, x, xOff);
    }

    /** One element, for the tail of {@link #dotVector}. */
    private float element(long base, int k) {
        return switch (type) {
            case F32 -> data.get(LittleEndianLayout.FLOAT, base + 4L * k);
            case BF16 -> Float.intBitsToFloat((data.get(LittleEndianLayout.SHORT, base + 2L * k) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(data.get(LittleEndianLayout.SHORT, base + 2L * k));
            default -> throw new AssertionError(type);
        };
    }

    public float dotScalar(int row, float[] x, int xOff) {
        return codec.dotScalar(data, row * rowBytes, x, xOff, cols);
    }

    // ---- Vector API ------------------------------------------------------------------------------------------

    private FloatVector loadBf16(long offset) {
        ShortVector s = ShortVector.fromMemorySegment(SHORTS, data, offset, ByteOrder.LITTLE_ENDIAN);
        return ((IntVector) s.convertShape(VectorOperators.S2I, INTS, 0)).lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    public float dotVector(int row, float[] x, int xOff) {
        long base = row * rowBytes;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int k = 0;
        switch (type) {
            case F32 -> {
                for (; k <= cols - 2 * L; k += 2 * L) {
                    FloatVector w0 = FloatVector.fromMemorySegment(F, data, base + 4L * k, ByteOrder.LITTLE_ENDIAN);
                    FloatVector w1 = FloatVector.fromMemorySegment(F, data, base + 4L * (k + L), ByteOrder.LITTLE_ENDIAN);
                    acc0 = w0.fma(FloatVector.fromArray(F, x, xOff + k), acc0);
                    acc1 = w1.fma(FloatVector.fromArray(F, x, xOff + k + L), acc1);
                }
            }
            case BF16 -> {
                for (; k <= cols - 2 * L; k += 2 * L) {
                    acc0 = loadBf16(base + 2L * k).fma(FloatVector.fromArray(F, x, xOff + k), acc0);
                    acc1 = loadBf16(base + 2L * (k + L)).fma(FloatVector.fromArray(F, x, xOff + k + L), acc1);
                }
            }
            case F16 -> {
                return dotScalar(row, x, xOff);
            }
            default -> throw new AssertionError(type);
        }
        float sum = VectorOps.sumLanes(acc0.add(acc1));
        for (; k < cols; k++) {
            sum += element(base, k) * x[xOff + k];
        }
        return sum;
    }
}
