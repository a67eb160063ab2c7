package io.falconq.core.intquant;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Packing against a decoder written here from the layout as documented in SPEC.md §3 (not from
 * {@link GptqLayout#unpack}): the word for input column i of output o is qweight[i / pf, o], field i mod pf,
 * low bits first; zeros are qzeros[g, o / pf] field o mod pf, plus one.
 */
class GptqLayoutTest {

    /** Reference decoder: reads the fields as a little-endian bit string instead of shifting words. */
    private static int field(int[] words, int wordIndex, int fieldIndex, int bits) {
        long word = words[wordIndex] & 0xFFFFFFFFL;
        String bitsLsbFirst = new StringBuilder(String.format("%32s", Long.toBinaryString(word)).replace(' ', '0'))
                .reverse().toString();
        String f = new StringBuilder(bitsLsbFirst.substring(fieldIndex * bits, fieldIndex * bits + bits)).reverse()
                .toString();
        return Integer.parseInt(f, 2);
    }

    private static QuantizedLinear random(int out, int in, IntQuantScheme s, long seed) {
        Random rnd = new Random(seed);
        int groups = s.groupCount(in);
        int[] q = new int[out * in];
        for (int i = 0; i < q.length; i++) {
            q[i] = rnd.nextInt(s.maxq() + 1);
        }
        float[] scales = new float[groups * out];
        int[] zeros = new int[groups * out];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = Float.float16ToFloat(Float.floatToFloat16(0.001f + rnd.nextFloat() * 0.05f));
            zeros[i] = s.symmetric() ? (s.maxq() + 1) / 2 : 1 + rnd.nextInt(s.maxq());
        }
        return new QuantizedLinear("t", out, in, s, q, scales, zeros, RtnQuantizer.sequentialGroups(in,
                s.effectiveGroupSize(in)));
    }

    private static void checkAgainstReference(QuantizedLinear l) {
        int bits = l.scheme().bits();
        int pf = 32 / bits;
        int[] qweight = GptqLayout.packQweight(l);
        int[] qzeros = GptqLayout.packQzeros(l);
        short[] scales = GptqLayout.scalesFp16(l);
        int out = l.out();
        int width = (out + pf - 1) / pf;
        assertEquals(l.in() / pf * out, qweight.length, "qweight has in/pf rows of out words");
        assertEquals(l.groups() * width, qzeros.length, "qzeros has groups rows of ceil(out/pf) words");
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < l.in(); i++) {
                int q = field(qweight, (i / pf) * out + o, i % pf, bits);
                int g = l.gIdx()[i];
                int zero = field(qzeros, g * width + o / pf, o % pf, bits) + 1;
                float scale = Float.float16ToFloat(scales[g * out + o]);
                float ref = scale * (q - zero);
                assertEquals(l.dequantize(o, i), ref, 0f, "o=" + o + " i=" + i);
                assertEquals(l.q()[o * l.in() + i], q);
            }
        }
    }

    @Test
    void int4GroupedMatchesReferenceDecoder() {
        checkAgainstReference(random(40, 256, IntQuantScheme.w4(128), 1));
    }

    @Test
    void int4OutputNotMultipleOfEightPadsQzeros() {
        // 838 = rows of the tiny model's in_proj: the last qzeros word holds 6 zeros and two empty fields
        QuantizedLinear l = random(838, 64, IntQuantScheme.w4(32).withSymmetric(false), 2);
        checkAgainstReference(l);
        int[] qzeros = GptqLayout.packQzeros(l);
        int width = 105;
        assertEquals(0, field(qzeros, width - 1, 6, 4));
        assertEquals(0, field(qzeros, width - 1, 7, 4));
    }

    @Test
    void int8PerChannelMatchesReferenceDecoder() {
        checkAgainstReference(random(24, 96, IntQuantScheme.w8(), 3));
        checkAgainstReference(random(24, 96, IntQuantScheme.w8().withSymmetric(false), 4));
    }

    @Test
    void symmetricInt4ZerosAreAllSevens() {
        // sym=True stores zero 8 as 7 in every nibble: 0x77777777, the pattern Marlin-converting loaders expect
        int[] qzeros = GptqLayout.packQzeros(random(16, 128, IntQuantScheme.w4(128), 5));
        for (int z : qzeros) {
            assertEquals(0x77777777, z);
        }
        int[] qzeros8 = GptqLayout.packQzeros(random(8, 64, IntQuantScheme.w8(), 6));
        for (int z : qzeros8) {
            assertEquals(0x7F7F7F7F, z);
        }
    }

    @Test
    void unpackInvertsPack() {
        QuantizedLinear l = random(838, 256, IntQuantScheme.w4(128).withSymmetric(false), 7);
        QuantizedLinear back = GptqLayout.unpack("t", l.scheme(), l.out(), l.in(), GptqLayout.packQweight(l),
                GptqLayout.packQzeros(l), GptqLayout.scalesFp16(l), l.gIdx());
        assertArrayEquals(l.q(), back.q());
        assertArrayEquals(l.zeros(), back.zeros());
        assertArrayEquals(l.scales(), back.scales());
    }

    @Test
    void inputNotMultipleOfPackFactorIsRefused() {
        QuantizedLinear l = random(8, 20, new IntQuantScheme(4, -1, true, false), 8);
        assertThrows(IllegalArgumentException.class, () -> GptqLayout.packQweight(l));
    }
}
