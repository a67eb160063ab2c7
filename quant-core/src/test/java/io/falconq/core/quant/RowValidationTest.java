package io.falconq.core.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code ggml_validate_row_data}: valid rows pass; an inf or NaN in a value or scale field is found in its block. */
class RowValidationTest {
    /** Offsets of the fp16 (Q8_K: float32) fields ggml_validate_row_data inspects, per type. */
    private static int[] checkedFields(QuantType q) {
        return switch (q) {
            case F32, F16, BF16 -> new int[]{0};
            case Q8_0, Q4_0, Q5_0, IQ4_NL, IQ4_XS, Q8_K -> new int[]{0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[]{0, 2};
            case Q2_K -> new int[]{Q2KCodec.D_OFFSET, Q2KCodec.DMIN_OFFSET};
            case Q3_K -> new int[]{Q3KCodec.D_OFFSET};
            case Q6_K -> new int[]{Q6KCodec.D_OFFSET};
        };
    }

    @Test
    void invalidScalesAreReportedByBlock() {
        SplittableRandom r = new SplittableRandom(11);
        for (QuantType q : QuantType.values()) {
            BlockCodec c = q.codec();
            int n = 4 * Math.max(256, c.blockSize());
            float[] src = new float[n];
            for (int i = 0; i < n; i++) {
                src[i] = (float) r.nextGaussian();
            }
            byte[] bytes = new byte[Math.toIntExact(c.rowBytes(n))];
            MemorySegment row = MemorySegment.ofArray(bytes);
            c.quantizeRow(src, 0, n, null, row, 0);
            assertEquals(-1, c.firstInvalidBlock(row, 0, n), q + " valid row");
            int blocks = n / c.blockSize();
            int bad = blocks - 2;
            for (int field : checkedFields(q)) {
                for (boolean nan : new boolean[]{false, true}) {
                    byte[] copy = bytes.clone();
                    int at = bad * c.typeSize() + field;
                    if (q == QuantType.Q8_K || q == QuantType.F32) {
                        int bits = Float.floatToRawIntBits(nan ? Float.NaN : Float.NEGATIVE_INFINITY);
                        for (int k = 0; k < 4; k++) {
                            copy[at + k] = (byte) (bits >> 8 * k);
                        }
                    } else if (q == QuantType.BF16) {
                        copy[at] = (byte) (nan ? 0xC1 : 0x80);
                        copy[at + 1] = (byte) 0x7F;
                    } else {
                        copy[at] = (byte) (nan ? 0x01 : 0x00);
                        copy[at + 1] = (byte) 0x7C;
                    }
                    assertEquals(bad, c.firstInvalidBlock(MemorySegment.ofArray(copy), 0, n),
                            q + " field @" + field + (nan ? " NaN" : " inf"));
                }
            }
        }
    }
}
