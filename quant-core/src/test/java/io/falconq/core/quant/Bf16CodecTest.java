package io.falconq.core.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * BF16 dequantization (vector lanes plus scalar tail) against its definition, the top half of a float32, on every
 * bit pattern, at even and odd byte addresses and every length tail.
 */
class Bf16CodecTest {
    private static final ValueLayout.OfShort I16_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void widensEveryBf16PatternExactlyAtEveryAlignmentAndLength() {
        try (Arena arena = Arena.ofConfined()) {
            int n = 1 << 16;
            MemorySegment src = arena.allocate(2L * n + 2);
            for (int offset : new int[]{0, 2, 1}) { // 1: an odd byte address, as an unaligned mapped tensor has
                for (int h = 0; h < n; h++) {
                    src.set(I16_LE, offset + 2L * h, (short) h);
                }
                for (int count : new int[]{n, n - 1, 37, 15, 1, 0}) {
                    float[] dst = new float[count];
                    Bf16Codec.INSTANCE.dequantizeRow(src, offset, dst, 0, count);
                    for (int h = 0; h < count; h++) {
                        int expected = h << 16; // BF16 is the top half of a float32
                        assertEquals(expected, Float.floatToRawIntBits(dst[h]), "pattern " + Integer.toHexString(h));
                    }
                }
            }
        }
    }
}
