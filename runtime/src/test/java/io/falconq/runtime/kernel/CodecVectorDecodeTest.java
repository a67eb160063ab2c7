package io.falconq.runtime.kernel;

import io.falconq.core.quant.QuantType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Each codec's {@code decodeRowVector} (Vector API) against its scalar {@code dequantizeRow} (the port of ggml's
 * {@code dequantize_row_*}; {@code QuantDecodeGgmlIT} checks that one against ggml itself): every value must be
 * the same float, bit for bit, signed zeros included. No tolerance: both compute {@code q·d} or {@code q·d ± m}
 * with the same separate float operations.
 */
class CodecVectorDecodeTest {
    private static final int ROWS = 12;

    static Stream<QuantType> types() {
        return QuantBlocks.WEIGHT_TYPES.stream();
    }

    @ParameterizedTest
    @MethodSource("types")
    void vectorDecodeEqualsScalarDequantizeBitForBit(QuantType type) {
        int n = type.ggmlType().blockSize() == 1 ? 600 : 768;
        MemorySegment rows = QuantBlocks.rows(type, ROWS, n, 11 + type.ordinal());
        long rowBytes = type.codec().rowBytes(n);
        List<String> patterns = QuantBlocks.patternNames(ROWS);
        for (int row = 0; row < ROWS; row++) {
            float[] scalar = new float[n + 3];
            float[] vector = new float[n + 3];
            type.codec().dequantizeRow(rows, row * rowBytes, scalar, 3, n);
            type.codec().decodeRowVector(rows, row * rowBytes, vector, 3, n);
            for (int i = 3; i < n + 3; i++) {
                if (Float.floatToRawIntBits(scalar[i]) != Float.floatToRawIntBits(vector[i])) {
                    int e = i - 3;
                    int bs = type.ggmlType().blockSize();
                    fail(type + " row " + row + " (" + patterns.get(row) + "), element " + e + " (block " + e / bs
                            + "): scalar " + scalar[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(scalar[i]))
                            + "), vector " + vector[i] + " (0x"
                            + Integer.toHexString(Float.floatToRawIntBits(vector[i])) + ")");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void partialRowsDecodeTheSameValuesAsWholeRows(QuantType type) {
        int bs = type.ggmlType().blockSize();
        int n = bs == 1 ? 512 : 1024;
        MemorySegment seg = QuantBlocks.rows(type, 3, n, 5);
        QuantizedWeightMatrix m = new QuantizedWeightMatrix("w", type, 3, n, seg);
        float[] whole = new float[n];
        float[] part = new float[n];
        for (int row = 0; row < 3; row++) {
            m.decodeRow(row, whole, 0);
            int chunk = Math.max(bs, 256);
            for (int k0 = 0; k0 < n; k0 += chunk) {
                m.decodeRow(row, k0, k0 + chunk, part, k0);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(whole[i]), Float.floatToRawIntBits(part[i]),
                        type + " row " + row + " element " + i);
            }
        }
    }
}
