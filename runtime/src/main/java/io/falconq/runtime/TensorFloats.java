package io.falconq.runtime;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Decodes small float tensors (norms, conv kernels, SSM parameters) to float32 arrays, checking their shape. */
public final class TensorFloats {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

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

    /** The tensor's values as float32 (F32, F16 or BF16 storage), NaN/Inf refused. */
    public static float[] decode(TensorView v) {
        int n = Math.toIntExact(v.elementCount());
        float[] out = new float[n];
        switch (v.type()) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = v.data().get(F32_LE, 4L * i);
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((v.data().get(I16_LE, 2L * i) & 0xFFFF) << 16);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(v.data().get(I16_LE, 2L * i));
                }
            }
            default -> throw new InvalidInputException(v.name() + ": type " + v.type()
                    + " is not supported for this tensor (expected F32, F16 or BF16)");
        }
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(out[i])) {
                throw new InvalidInputException(v.name() + ": element " + i + " is " + out[i] + " (NaN/Inf in weights)");
            }
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
