package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The Java version of ggml-common.h's {@code static_assert(sizeof(block_…) == …)}: each codec's named fields are
 * contiguous from offset 0 and add up to its block size, which equals both {@link GgmlType}'s table and the
 * independent table {@code GGML_QUANT_SIZES} in gguf-py/gguf/constants.py (gguf-py 0.19.0, quoted below).
 */
class CodecLayoutTest {
    private static final int QK_K = 256;

    /** gguf-py constants.py GGML_QUANT_SIZES: (block size, type size), written as in that file. */
    private static final Map<QuantType, int[]> GGML_QUANT_SIZES = new EnumMap<>(Map.ofEntries(
            Map.entry(QuantType.F32, new int[]{1, 4}),
            Map.entry(QuantType.F16, new int[]{1, 2}),
            Map.entry(QuantType.Q4_0, new int[]{32, 2 + 16}),
            Map.entry(QuantType.Q4_1, new int[]{32, 2 + 2 + 16}),
            Map.entry(QuantType.Q5_0, new int[]{32, 2 + 4 + 16}),
            Map.entry(QuantType.Q5_1, new int[]{32, 2 + 2 + 4 + 16}),
            Map.entry(QuantType.Q8_0, new int[]{32, 2 + 32}),
            Map.entry(QuantType.Q2_K, new int[]{256, 2 + 2 + QK_K / 16 + QK_K / 4}),
            Map.entry(QuantType.Q3_K, new int[]{256, 2 + QK_K / 4 + QK_K / 8 + 12}),
            Map.entry(QuantType.Q4_K, new int[]{256, 2 + 2 + QK_K / 2 + 12}),
            Map.entry(QuantType.Q5_K, new int[]{256, 2 + 2 + QK_K / 2 + QK_K / 8 + 12}),
            Map.entry(QuantType.Q6_K, new int[]{256, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16}),
            Map.entry(QuantType.Q8_K, new int[]{256, 4 + QK_K + QK_K / 8}),
            Map.entry(QuantType.IQ4_NL, new int[]{32, 2 + 16}),
            Map.entry(QuantType.IQ4_XS, new int[]{256, 2 + 2 + QK_K / 2 + QK_K / 64}),
            Map.entry(QuantType.BF16, new int[]{1, 2})));

    /** Each codec's fields as (offset, size) pairs in struct order. */
    private static Map<QuantType, int[][]> fields() {
        Map<QuantType, int[][]> m = new EnumMap<>(QuantType.class);
        m.put(QuantType.F32, new int[][]{{F32Codec.VALUE_OFFSET, F32Codec.VALUE_BYTES}});
        m.put(QuantType.F16, new int[][]{{F16Codec.VALUE_OFFSET, F16Codec.VALUE_BYTES}});
        m.put(QuantType.BF16, new int[][]{{Bf16Codec.VALUE_OFFSET, Bf16Codec.VALUE_BYTES}});
        m.put(QuantType.Q8_0, new int[][]{{Q8_0Codec.D_OFFSET, Q8_0Codec.D_BYTES},
                {Q8_0Codec.QS_OFFSET, Q8_0Codec.QS_BYTES}});
        m.put(QuantType.Q4_0, new int[][]{{Q4_0Codec.D_OFFSET, Q4_0Codec.D_BYTES},
                {Q4_0Codec.QS_OFFSET, Q4_0Codec.QS_BYTES}});
        m.put(QuantType.Q4_1, new int[][]{{Q4_1Codec.D_OFFSET, Q4_1Codec.D_BYTES},
                {Q4_1Codec.M_OFFSET, Q4_1Codec.M_BYTES}, {Q4_1Codec.QS_OFFSET, Q4_1Codec.QS_BYTES}});
        m.put(QuantType.Q5_0, new int[][]{{Q5_0Codec.D_OFFSET, Q5_0Codec.D_BYTES},
                {Q5_0Codec.QH_OFFSET, Q5_0Codec.QH_BYTES}, {Q5_0Codec.QS_OFFSET, Q5_0Codec.QS_BYTES}});
        m.put(QuantType.Q5_1, new int[][]{{Q5_1Codec.D_OFFSET, Q5_1Codec.D_BYTES},
                {Q5_1Codec.M_OFFSET, Q5_1Codec.M_BYTES}, {Q5_1Codec.QH_OFFSET, Q5_1Codec.QH_BYTES},
                {Q5_1Codec.QS_OFFSET, Q5_1Codec.QS_BYTES}});
        m.put(QuantType.Q2_K, new int[][]{{Q2KCodec.SCALES_OFFSET, Q2KCodec.SCALES_BYTES},
                {Q2KCodec.QS_OFFSET, Q2KCodec.QS_BYTES}, {Q2KCodec.D_OFFSET, Q2KCodec.D_BYTES},
                {Q2KCodec.DMIN_OFFSET, Q2KCodec.DMIN_BYTES}});
        m.put(QuantType.Q3_K, new int[][]{{Q3KCodec.HMASK_OFFSET, Q3KCodec.HMASK_BYTES},
                {Q3KCodec.QS_OFFSET, Q3KCodec.QS_BYTES}, {Q3KCodec.SCALES_OFFSET, Q3KCodec.SCALES_BYTES},
                {Q3KCodec.D_OFFSET, Q3KCodec.D_BYTES}});
        m.put(QuantType.Q4_K, new int[][]{{Q4KCodec.D_OFFSET, Q4KCodec.D_BYTES},
                {Q4KCodec.DMIN_OFFSET, Q4KCodec.DMIN_BYTES}, {Q4KCodec.SCALES_OFFSET, Q4KCodec.SCALES_BYTES},
                {Q4KCodec.QS_OFFSET, Q4KCodec.QS_BYTES}});
        m.put(QuantType.Q5_K, new int[][]{{Q5KCodec.D_OFFSET, Q5KCodec.D_BYTES},
                {Q5KCodec.DMIN_OFFSET, Q5KCodec.DMIN_BYTES}, {Q5KCodec.SCALES_OFFSET, Q5KCodec.SCALES_BYTES},
                {Q5KCodec.QH_OFFSET, Q5KCodec.QH_BYTES}, {Q5KCodec.QS_OFFSET, Q5KCodec.QS_BYTES}});
        m.put(QuantType.Q6_K, new int[][]{{Q6KCodec.QL_OFFSET, Q6KCodec.QL_BYTES},
                {Q6KCodec.QH_OFFSET, Q6KCodec.QH_BYTES}, {Q6KCodec.SCALES_OFFSET, Q6KCodec.SCALES_BYTES},
                {Q6KCodec.D_OFFSET, Q6KCodec.D_BYTES}});
        m.put(QuantType.Q8_K, new int[][]{{Q8KCodec.D_OFFSET, Q8KCodec.D_BYTES},
                {Q8KCodec.QS_OFFSET, Q8KCodec.QS_BYTES}, {Q8KCodec.BSUMS_OFFSET, Q8KCodec.BSUMS_BYTES}});
        m.put(QuantType.IQ4_NL, new int[][]{{Iq4NlCodec.D_OFFSET, Iq4NlCodec.D_BYTES},
                {Iq4NlCodec.QS_OFFSET, Iq4NlCodec.QS_BYTES}});
        m.put(QuantType.IQ4_XS, new int[][]{{Iq4XsCodec.D_OFFSET, Iq4XsCodec.D_BYTES},
                {Iq4XsCodec.SCALES_H_OFFSET, Iq4XsCodec.SCALES_H_BYTES},
                {Iq4XsCodec.SCALES_L_OFFSET, Iq4XsCodec.SCALES_L_BYTES},
                {Iq4XsCodec.QS_OFFSET, Iq4XsCodec.QS_BYTES}});
        return m;
    }

    @Test
    void fieldsAreContiguousAndSumToTheTypeSizeOfBothTables() {
        Map<QuantType, int[][]> fields = fields();
        for (QuantType q : QuantType.values()) {
            int[][] f = fields.get(q);
            int[] gguf = GGML_QUANT_SIZES.get(q);
            int expectedOffset = 0;
            for (int[] field : f) {
                assertEquals(expectedOffset, field[0], q + ": field at wrong offset");
                expectedOffset += field[1];
            }
            BlockCodec codec = q.codec();
            assertEquals(gguf[1], expectedOffset, q + ": sum of fields vs gguf-py GGML_QUANT_SIZES");
            assertEquals(gguf[1], codec.typeSize(), q + ": typeSize vs gguf-py");
            assertEquals(gguf[0], codec.blockSize(), q + ": blockSize vs gguf-py");
            assertEquals(q.ggmlType().typeSize(), codec.typeSize(), q + ": vs GgmlType");
            assertEquals(q.name(), q.ggmlType().name(), "QuantType and GgmlType names agree");
        }
    }

    @Test
    void blockBytesConstantsMatch() {
        assertEquals(QuantType.Q8_0.codec().typeSize(), Q8_0Codec.BLOCK_BYTES);
        assertEquals(QuantType.Q4_0.codec().typeSize(), Q4_0Codec.BLOCK_BYTES);
        assertEquals(QuantType.Q4_1.codec().typeSize(), Q4_1Codec.BLOCK_BYTES);
        assertEquals(QuantType.Q5_0.codec().typeSize(), Q5_0Codec.BLOCK_BYTES);
        assertEquals(QuantType.Q5_1.codec().typeSize(), Q5_1Codec.BLOCK_BYTES);
        assertEquals(QuantType.Q2_K.codec().typeSize(), Q2KCodec.BLOCK_BYTES);
        assertEquals(QuantType.Q3_K.codec().typeSize(), Q3KCodec.BLOCK_BYTES);
        assertEquals(QuantType.Q4_K.codec().typeSize(), Q4KCodec.BLOCK_BYTES);
        assertEquals(QuantType.Q5_K.codec().typeSize(), Q5KCodec.BLOCK_BYTES);
        assertEquals(QuantType.Q6_K.codec().typeSize(), Q6KCodec.BLOCK_BYTES);
        assertEquals(QuantType.Q8_K.codec().typeSize(), Q8KCodec.BLOCK_BYTES);
        assertEquals(QuantType.IQ4_NL.codec().typeSize(), Iq4NlCodec.BLOCK_BYTES);
        assertEquals(QuantType.IQ4_XS.codec().typeSize(), Iq4XsCodec.BLOCK_BYTES);
    }

    @Test
    void quantTypeOfIsTheInverseOfGgmlTypeAndRejectsOthers() {
        for (QuantType q : QuantType.values()) {
            assertSame(q, QuantType.of(q.ggmlType()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantType.of(GgmlType.IQ2_XXS));
        assertEquals(true, e.getMessage().contains("IQ2_XXS"), e.getMessage());
        assertEquals(java.util.Optional.empty(), QuantType.find(GgmlType.IQ2_XXS));
        assertEquals(java.util.Optional.of(QuantType.Q4_K), QuantType.find(GgmlType.Q4_K));
    }

    @Test
    void rowLengthsThatAreNotBlockMultiplesAreRejected() {
        BlockCodec q4k = QuantType.Q4_K.codec();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> q4k.quantizeRow(new float[384], 0, 384, null, java.lang.foreign.MemorySegment.ofArray(new byte[1024]), 0));
        assertEquals(true, e.getMessage().contains("384"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> q4k.quantizeRow(new float[256], 0, 256, new float[128], java.lang.foreign.MemorySegment.ofArray(new byte[144]), 0));
    }
}
