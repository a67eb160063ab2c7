package io.falconq.quant;

import java.util.Objects;

/** Argument checks shared by the codecs (programming errors, hence unchecked exceptions). */
final class RowChecks {
    private RowChecks() {
    }

    static void quantize(BlockCodec codec, float[] src, int srcOff, int n, float[] importance) {
        length(codec, n);
        Objects.checkFromIndexSize(srcOff, n, src.length);
        if (importance != null && importance.length < n) {
            throw new IllegalArgumentException("importance has " + importance.length + " values for a row of " + n);
        }
    }

    static void dequantize(BlockCodec codec, float[] dst, int dstOff, int n) {
        length(codec, n);
        Objects.checkFromIndexSize(dstOff, n, dst.length);
    }

    static void dot(BlockCodec codec, float[] x, int xOff, int n) {
        length(codec, n);
        Objects.checkFromIndexSize(xOff, n, x.length);
    }

    private static void length(BlockCodec codec, int n) {
        if (n < 0 || n % codec.blockSize() != 0) {
            throw new IllegalArgumentException(n + " elements is not a multiple of " + codec.type() + "'s block size "
                    + codec.blockSize());
        }
    }
}
