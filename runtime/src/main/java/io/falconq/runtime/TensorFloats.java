package io.falconq.runtime;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.LittleEndianLayout;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.quant.FloatRows;
import io.falconq.core.quant.QuantType;

import java.util.Arrays;

/** Decodes small float tensors (norms, conv kernels, SSM parameters) to float32 arrays, checking their shape. */
public final class TensorFloats {
    private TensorFloats() {
    }

    /** The tensor's values in storage order, after checking its shape equals {@code expectedShape}. */
    static float[] read(TensorView v, long... expectedShape) {
        checkShape(v, expectedShape);
        return decode(v);
    }

    /**
     * Like {@link #read} but compares shapes with size-1 dimensions removed: writers differ on whether a (1, n)
     * or (n, 1) tensor keeps its unit dimension.
     */
    static float[] readSqueezed(TensorView v, long... expectedShape) {
        if (!Arrays.equals(squeeze(v.shape()), squeeze(expectedShape))) {
            throw new InvalidInputException(v.name() + ": shape " + Arrays.toString(v.shape()) + ", expected "
                    + Arrays.toString(expectedShape) + " (unit dimensions aside)");
        }
        return decode(v);
    }

    private static long[] squeeze(long[] shape) {
        return Arrays.stream(shape).filter(d -> d != 1).toArray();
    }

    static void checkShape(TensorView v, long... expectedShape) {
        if (!Arrays.equals(v.shape(), expectedShape)) {
            throw new InvalidInputException(v.name() + ": shape " + Arrays.toString(v.shape()) + ", expected "
                    + Arrays.toString(expectedShape) + " from the config");
        }
    }

    /**
     * Refuses a stored F32/F16/BF16 tensor holding NaN or ±Inf, read in place without decoding (an all-ones exponent
     * field), for tensors a writer copies through unchanged; other types are not checked.
     */
    public static void requireFinite(TensorView v) {
        long n = v.data().byteSize();
        switch (v.type()) {
            case F32 -> {
                for (long i = 0; i + 4 <= n; i += 4) {
                    if (!Float.isFinite(v.data().get(LittleEndianLayout.FLOAT, i))) {
                        throw nonFinite(v, i / 4, v.data().get(LittleEndianLayout.FLOAT, i));
                    }
                }
            }
            case BF16, F16 -> {
                int exponent = v.type() == GgmlType.BF16 ? 0x7F80 : 0x7C00;
                for (long i = 0; i + 2 <= n; i += 2) {
                    short bits = v.data().get(LittleEndianLayout.SHORT, i);
                    if ((bits & exponent) == exponent) {
                        throw nonFinite(v, i / 2, v.type() == GgmlType.BF16
                                ? Float.intBitsToFloat((bits & 0xFFFF) << 16) : Float.float16ToFloat(bits));
                    }
                }
            }
            default -> {
                // quantized or integer tensors: their blocks are checked by their decoders
            }
        }
    }

    private static InvalidInputException nonFinite(TensorView v, long element, float value) {
        return new InvalidInputException(v.name() + ": element " + element + " is " + value + " (NaN/Inf in weights)");
    }

    /** The tensor's values as float32 (F32, F16 or BF16 storage, decoded by its codec), NaN/Inf refused. */
    public static float[] decode(TensorView v) {
        if (v.type() != GgmlType.F32 && v.type() != GgmlType.F16 && v.type() != GgmlType.BF16) {
            throw new InvalidInputException(v.name() + ": type " + v.type()
                    + " is not supported for this tensor (expected F32, F16 or BF16)");
        }
        int n = Math.toIntExact(v.elementCount());
        float[] out = new float[n];
        QuantType.of(v.type()).codec().decodeRow(v.data(), 0, out, 0, n);
        int bad = FloatRows.firstNonFinite(out, 0, n);
        if (bad >= 0) {
            throw nonFinite(v, bad, out[bad]);
        }
        return out;
    }

    /** (rows, K) row-major → (K, rows) row-major. */
    static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        return t;
    }
}
