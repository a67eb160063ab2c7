package io.falconq.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Source weights as float32 rows for conversion: BF16 widening and the finiteness scan, with Vector API paths
 * (exact: widening BF16 is a 16-bit shift, and the scan only tests exponent bits) next to the scalar loops they
 * replace.
 */
public final class FloatRows {
    private static final VectorSpecies<Float> F = VectorMode.FLOAT_SPECIES;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = L >= 4 ? VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L))
            : null;
    private static final ValueLayout.OfShort I16_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private FloatRows() {
    }

    /** {@code count} BF16 values at byte offset {@code off} of {@code src}, widened to float32 into {@code dst}. */
    public static void widenBf16(MemorySegment src, long off, float[] dst, int count) {
        int i = 0;
        if (VectorMode.ENABLED) {
            for (int bound = count - count % L; i < bound; i += L) {
                ShortVector h = ShortVector.fromMemorySegment(S, src, off + 2L * i, ByteOrder.LITTLE_ENDIAN);
                IntVector bits = ((IntVector) h.convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16);
                bits.reinterpretAsFloats().intoArray(dst, i);
            }
        }
        for (; i < count; i++) {
            // the sign-extended low half is shifted out
            dst[i] = Float.intBitsToFloat(src.get(I16_LE, off + 2L * i) << 16);
        }
    }

    /** Index of the first inf or NaN in {@code a[from, to)}, or −1. */
    public static int firstNonFinite(float[] a, int from, int to) {
        int i = from;
        if (VectorMode.ENABLED) {
            for (int bound = to - (to - from) % L; i < bound; i += L) {
                IntVector exp = FloatVector.fromArray(F, a, i).reinterpretAsInts().and(0x7f800000);
                if (exp.compare(VectorOperators.EQ, 0x7f800000).anyTrue()) {
                    break; // the scalar loop below finds the exact index
                }
            }
        }
        for (; i < to; i++) {
            if (!Float.isFinite(a[i])) {
                return i;
            }
        }
        return -1;
    }
}
