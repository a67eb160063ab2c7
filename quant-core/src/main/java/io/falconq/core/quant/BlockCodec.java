package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Quantize, dequantize and dot for one ggml block type, side by side (GGUF-NOTES.md §5).
 *
 * <p>Contract shared by every codec:
 * <ul>
 *   <li>{@code n} is a multiple of {@link #blockSize()}; a row of n elements takes {@code n / blockSize * typeSize}
 *       bytes.</li>
 *   <li>{@link #quantizeRow} writes exactly what {@code ggml_quantize_chunk} writes for one row, which is what
 *       llama-quantize stores: the {@code quantize_row_*_ref} path when {@code importance} is null, and the
 *       {@code quantize_row_*_impl} imatrix path otherwise (types without one ignore it, see
 *       {@link #usesImportance()}). {@code importance[j]} weights {@code src[srcOff + j]}; llama-quantize passes the
 *       same vector (the mean squared activation per input column) for every row. With importance, pass one whole
 *       tensor row: Q4_0/Q4_1/Q5_0/Q5_1 normalise by the variance of the full row.</li>
 *   <li>{@link #dequantizeRow} is {@code dequantize_row_*}, bit for bit. {@link #decodeRowVector} is its Vector API
 *       twin with the same floats, bit for bit (the same separate float operations, see {@link VectorDequant});
 *       {@link #decodeRow} picks it unless {@link VectorMode#ENABLED} is false. The runtime's matrix products
 *       decode their weight panels through it.</li>
 *   <li>{@link #dot} is Σ w_j·x_j for float32 activations x against the quantized row w. {@link #dotScalar} is the
 *       reference: the dequantized values times x, summed in element order in float.
 *       {@link #dotVector} is the Vector API path; it reassociates the sum and uses fused multiply-adds, so it
 *       agrees with the scalar path only to rounding (bound stated in {@code CodecDifferentialTest}).
 *       {@link #dot} picks the vector path unless {@link VectorMode#ENABLED} is false.</li>
 * </ul>
 * Codecs are stateless and thread-safe; per-thread scratch arrays keep the row loops allocation-free. This base
 * holds what every codec shares: its identity, the argument checks, {@code ggml_validate_row_data} and the scalar
 * reference dot.
 */
public abstract sealed class BlockCodec
        permits F32Codec, F16Codec, Bf16Codec, Q8_0Codec, Q4_0Codec, Q4_1Codec, Q5_0Codec, Q5_1Codec, Q2KCodec,
        Q3KCodec, Q4KCodec, Q5KCodec, Q6KCodec, Q8KCodec, Iq4NlCodec, Iq4XsCodec {
    /** Values of {@link #usesImportance}, named at each codec's constructor. */
    static final boolean WITH_IMATRIX = true;
    static final boolean WITHOUT_IMATRIX = false;

    /** Scratch of {@link #dotScalar}: one decoded block of the largest type (256 elements). */
    private static final ThreadLocal<float[]> SCALAR_DECODED = ThreadLocal.withInitial(() -> new float[256]);

    private final GgmlType type;
    private final boolean usesImportance;
    private final int[] fp16ScaleOffsets;

    /**
     * @param usesImportance   whether ggml has an imatrix path for this type
     * @param fp16ScaleOffsets the fp16 fields of a block that {@code ggml_validate_row_data} checks (d, and m or dmin
     *                         where the block has one); codecs whose fields are not fp16 override
     *                         {@link #firstInvalidBlock} instead
     */
    BlockCodec(GgmlType type, boolean usesImportance, int... fp16ScaleOffsets) {
        this.type = type;
        this.usesImportance = usesImportance;
        this.fp16ScaleOffsets = fp16ScaleOffsets;
    }

    public final GgmlType type() {
        return type;
    }

    /** Elements per block. */
    public final int blockSize() {
        return type.blockSize();
    }

    /** Bytes per block. */
    public final int typeSize() {
        return type.typeSize();
    }

    /** Bytes of a row of {@code n} elements. */
    public final long rowBytes(long n) {
        return type.bytesFor(n);
    }

    /** Whether a non-null importance vector changes the output (ggml has an imatrix path for this type). */
    public final boolean usesImportance() {
        return usesImportance;
    }

    /**
     * Quantizes {@code src[srcOff .. srcOff+n)} into {@code dst} at {@code dstOff}.
     *
     * @param importance null, or per-element weights with at least {@code n} entries, all finite
     */
    public abstract void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst,
                                     long dstOff);

    /** Decodes {@code n} elements starting at {@code srcOff} into {@code dst[dstOff .. dstOff+n)}. */
    public abstract void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n);

    /** The floats of {@link #dequantizeRow}, by the Vector API path unless {@link VectorMode#ENABLED} is false. */
    public final void decodeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        if (VectorMode.ENABLED) {
            decodeRowVector(src, srcOff, dst, dstOff, n);
        } else {
            dequantizeRow(src, srcOff, dst, dstOff, n);
        }
    }

    /** {@link #dequantizeRow} with the Vector API, bit for bit the same floats, signed zeros included. */
    public abstract void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n);

    /**
     * {@code ggml_validate_row_data}, which llama-quantize runs on every row it writes: the index of the first block
     * (for F32/F16/BF16: element) of the {@code n}-element row at {@code off} whose value or scale field (d, and m or
     * dmin where the block has one) is inf or NaN, or −1 if the row is valid.
     */
    public long firstInvalidBlock(MemorySegment w, long off, int n) {
        long blocks = n / blockSize();
        for (long b = 0; b < blocks; b++) {
            for (int f : fp16ScaleOffsets) {
                short h = w.get(LittleEndian.SHORT, off + b * typeSize() + f);
                if ((h & 0x7c00) == 0x7c00) {
                    return b;
                }
            }
        }
        return -1;
    }

    /** Σ w_j·x_{xOff+j} over {@code n} elements of the quantized row at {@code wOff}. */
    public final float dot(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        return VectorMode.ENABLED ? dotVector(w, wOff, x, xOff, n) : dotScalar(w, wOff, x, xOff, n);
    }

    /** The readable reference: dequantize block by block, multiply, add in element order (float). */
    public float dotScalar(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        int bs = blockSize();
        int ts = typeSize();
        float[] block = SCALAR_DECODED.get();
        float sum = 0;
        for (int b = 0; b < n / bs; b++) {
            dequantizeRow(w, wOff + (long) b * ts, block, 0, bs);
            int xb = xOff + b * bs;
            for (int j = 0; j < bs; j++) {
                sum += block[j] * x[xb + j];
            }
        }
        return sum;
    }

    /** The Vector API path, written against {@link VectorMode#FLOAT_SPECIES}. */
    public abstract float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n);

    // Argument checks: programming errors, hence unchecked exceptions.

    final void checkQuantize(float[] src, int srcOff, int n, float[] importance) {
        checkLength(n);
        Objects.checkFromIndexSize(srcOff, n, src.length);
        if (importance != null && importance.length < n) {
            throw new IllegalArgumentException("importance has " + importance.length + " values for a row of " + n);
        }
    }

    final void checkDequantize(float[] dst, int dstOff, int n) {
        checkLength(n);
        Objects.checkFromIndexSize(dstOff, n, dst.length);
    }

    final void checkDot(float[] x, int xOff, int n) {
        checkLength(n);
        Objects.checkFromIndexSize(xOff, n, x.length);
    }

    private void checkLength(int n) {
        if (n < 0 || n % blockSize() != 0) {
            throw new IllegalArgumentException(n + " elements is not a multiple of " + type + "'s block size "
                    + blockSize());
        }
    }
}
