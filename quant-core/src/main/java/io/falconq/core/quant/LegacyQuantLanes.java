package io.falconq.core.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Vector paths of {@code quantize_row_q8_0_ref} and {@code quantize_row_q4_0_ref}: one 32-element block at a time,
 * with the scalar ports' operations lane by lane, so the bytes are identical. The absolute maximum is taken on the
 * bit patterns with the sign cleared, as {@link AbsMax} does (exact in any order: a maximum does not round); the
 * product {@code x·id} is the same float multiplication; the conversions are
 * Java's {@code (int)} and {@code (byte)} casts the scalar code uses ({@link GgmlRounding#roundfToInt} for Q8_0's
 * {@code roundf}). A block whose maximum is not finite, or whose scaled values could leave the range where those
 * identities hold, is handed to the scalar port.
 *
 * <p>Each block is one flat method on integer and plain arithmetic vectors. In the first version a helper
 * returning a vector and {@code FloatVector.abs()/max()} were left to the Vector API's Java fallback in the
 * C2-compiled conversion (it allocates arrays per operation: 99 young collections in a BF16 → Q4_0 requantize of
 * 0.5B, half of its samples in the fallback); written this way the same run has 34, mostly from JIT warm-up.
 *
 * <p>Needs 8 or 16 float lanes (256- or 512-bit vectors), so that one int vector narrows to a whole byte vector;
 * with 4 lanes the codecs keep their scalar loops.
 */
final class LegacyQuantLanes {
    private static final VectorSpecies<Float> F = VectorMode.FLOAT_SPECIES;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Byte> B = L >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * L))
            : null;
    private static final int QK = 32;
    // operands as vector constants (README, "Vector kernels written flat"); shift counts stay scalars, as the API has them
    private static final IntVector ABS_BITS = IntVector.broadcast(I, 0x7fffffff);
    private static final FloatVector TWO = FloatVector.broadcast(F, 2.0f);
    private static final FloatVector EIGHT_AND_A_HALF = FloatVector.broadcast(F, 8.5f);
    private static final ByteVector FIFTEEN = B != null ? ByteVector.broadcast(B, (byte) 15) : null;
    private static final ThreadLocal<byte[][]> ROW_BUFFER = ThreadLocal.withInitial(() -> new byte[1][0]);

    private LegacyQuantLanes() {
    }

    /**
     * max |x| of a block in the integer domain, as AbsMax does: for floats without sign the bit patterns order like
     * the values. Written without a loop and with the mask as a vector constant: in the first version the running
     * maximum was a loop-carried vector and the mask a scalar argument, and C2 sometimes left those operations to the
     * Vector API's Java fallback (allocating per block) for the rest of the run, depending on warm-up timing.
     */
    private static int absMaxBits(float[] x, int off) {
        IntVector a = FloatVector.fromArray(F, x, off).reinterpretAsInts().lanewise(VectorOperators.AND, ABS_BITS);
        IntVector b = FloatVector.fromArray(F, x, off + L).reinterpretAsInts().lanewise(VectorOperators.AND, ABS_BITS);
        IntVector m = a.lanewise(VectorOperators.MAX, b);
        if (L == 8) {
            IntVector c = FloatVector.fromArray(F, x, off + 16).reinterpretAsInts()
                    .lanewise(VectorOperators.AND, ABS_BITS);
            IntVector d = FloatVector.fromArray(F, x, off + 24).reinterpretAsInts()
                    .lanewise(VectorOperators.AND, ABS_BITS);
            m = m.lanewise(VectorOperators.MAX, c.lanewise(VectorOperators.MAX, d));
        }
        return m.reduceLanes(VectorOperators.MAX);
    }

    /**
     * Offset in the block of the first element whose |x| has exactly the bits {@code absBits}, which the block must
     * contain. A lane compare per vector instead of a scalar scan, whose exit lands on a random element of each block
     * (a branch misprediction per block): Q4_0 rows 0.54–1.1 instead of 1.0–1.4 ns/weight in a one-thread scratch
     * benchmark, interleaved JVMs (BENCHMARKS.md, issue #4).
     */
    private static int firstWithAbsBits(float[] x, int off, int absBits) {
        IntVector target = IntVector.broadcast(I, absBits);
        int j = 0;
        while (true) {
            IntVector a = FloatVector.fromArray(F, x, off + j).reinterpretAsInts().lanewise(VectorOperators.AND, ABS_BITS);
            int lane = a.compare(VectorOperators.EQ, target).firstTrue();
            if (lane < L) {
                return j + lane;
            }
            j += L;
        }
    }

    static boolean usable() {
        return VectorMode.ENABLED && (L == 8 || L == 16);
    }

    /**
     * A row of Q8_0 blocks ({@code q8}) or Q4_0 blocks by the reference quantizer: each block on lanes when
     * {@link #usable}, otherwise (and for the blocks the lanes decline) by the codec's scalar port. The row is
     * assembled in the per-thread row buffer and copied out once: a segment copy per 34- or 18-byte block cost more
     * than the arithmetic.
     */
    static void quantizeRow(float[] src, int srcOff, int n, MemorySegment dst, long dstOff, boolean q8) {
        int blockBytes = q8 ? Q8_0Codec.BLOCK_BYTES : Q4_0Codec.BLOCK_BYTES;
        int blocks = n / QK;
        byte[] y = rowBuffer(blocks * blockBytes);
        boolean lanes = usable();
        for (int i = 0; i < blocks; i++) {
            int x = srcOff + i * QK;
            int out = i * blockBytes;
            if (q8) {
                if (!lanes || !q8_0Block(src, x, y, out)) {
                    Q8_0Codec.quantizeBlockScalar(src, x, y, out);
                }
            } else if (!lanes || !q4_0Block(src, x, y, out)) {
                Q4_0Codec.quantizeBlockScalar(src, x, y, out);
            }
        }
        MemorySegment.copy(y, 0, dst, ValueLayout.JAVA_BYTE, dstOff, blocks * blockBytes);
    }

    /** The calling thread's buffer, grown to at least {@code length} bytes; valid until the thread's next call. */
    private static byte[] rowBuffer(int length) {
        byte[][] holder = ROW_BUFFER.get();
        if (holder[0].length < length) {
            holder[0] = new byte[Math.max(length, holder[0].length * 2)];
        }
        return holder[0];
    }

    /**
     * Block {@code i} of a Q8_0 row; false when the scalar port must encode it. The scaled values then satisfy
     * |x·id| ≤ 127·(1 + 2⁻²³)-ish, far inside {@code roundfToInt}'s |v| < 2³⁰ domain.
     */
    static boolean q8_0Block(float[] x, int off, byte[] y, int out) {
        int amaxBits = absMaxBits(x, off);
        if (amaxBits >= 0x7f800000) {
            return false; // inf or NaN
        }
        float amax = Float.intBitsToFloat(amaxBits);
        final float d = amax / ((1 << 7) - 1);
        final float id = d != 0 ? 1.0f / d : 0.0f;
        if (!(amax * id < 0x1.0p30f)) {
            return false;
        }
        LittleEndian.putHalf(y, out + Q8_0Codec.D_OFFSET, d);
        for (int j = 0; j < QK; j += L) {
            FloatVector v = FloatVector.fromArray(F, x, off + j).mul(FloatVector.broadcast(F, id));
            IntVector t = (IntVector) v.convert(VectorOperators.F2I, 0);
            FloatVector frac = v.sub((FloatVector) t.convert(VectorOperators.I2F, 0)).mul(TWO);
            IntVector q = t.add((IntVector) frac.convert(VectorOperators.F2I, 0));
            ((ByteVector) q.convertShape(VectorOperators.I2B, B, 0)).intoArray(y, out + Q8_0Codec.QS_OFFSET + j);
        }
        return true;
    }

    /**
     * Block {@code i} of a Q4_0 row; false when the scalar port must encode it. ggml's {@code max} is the signed
     * value of the first element whose |x| is largest (+0 for an all-zero block): the vector maximum gives |max|,
     * and {@link #firstWithAbsBits} finds the first element with exactly that magnitude.
     */
    static boolean q4_0Block(float[] x, int off, byte[] y, int out) {
        int amaxBits = absMaxBits(x, off);
        if (amaxBits >= 0x7f800000) {
            return false; // inf or NaN
        }
        float max = amaxBits == 0 ? 0.0f : x[off + firstWithAbsBits(x, off, amaxBits)];
        final float d = max / -8;
        final float id = d != 0 ? 1.0f / d : 0.0f;
        LittleEndian.putHalf(y, out + Q4_0Codec.D_OFFSET, d);
        FloatVector idv = FloatVector.broadcast(F, id);
        for (int j = 0; j < QK / 2; j += L) {
            // MIN(15, (int8_t)(x·id + 8.5f)) for element j (low nibble) and j + 16 (high nibble)
            IntVector tLo = (IntVector) FloatVector.fromArray(F, x, off + j).mul(idv).add(EIGHT_AND_A_HALF)
                    .convert(VectorOperators.F2I, 0);
            IntVector tHi = (IntVector) FloatVector.fromArray(F, x, off + QK / 2 + j).mul(idv).add(EIGHT_AND_A_HALF)
                    .convert(VectorOperators.F2I, 0);
            ByteVector lo = ((ByteVector) tLo.convertShape(VectorOperators.I2B, B, 0)).min(FIFTEEN);
            ByteVector hi = ((ByteVector) tHi.convertShape(VectorOperators.I2B, B, 0)).min(FIFTEEN);
            lo.or(hi.lanewise(VectorOperators.LSHL, 4)).intoArray(y, out + Q4_0Codec.QS_OFFSET + j);
        }
        return true;
    }
}
