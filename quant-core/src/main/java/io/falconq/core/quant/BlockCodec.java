package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

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
 * Codecs are stateless and thread-safe; per-thread scratch arrays keep the row loops allocation-free.
 */
public sealed interface BlockCodec
        permits F32Codec, F16Codec, Bf16Codec, Q8_0Codec, Q4_0Codec, Q4_1Codec, Q5_0Codec, Q5_1Codec, Q2KCodec,
        Q3KCodec, Q4KCodec, Q5KCodec, Q6KCodec, Q8KCodec, Iq4NlCodec, Iq4XsCodec {

    GgmlType type();

    /** Elements per block. */
    default int blockSize() {
        return type().blockSize();
    }

    /** Bytes per block. */
    default int typeSize() {
        return type().typeSize();
    }

    /** Bytes of a row of {@code n} elements. */
    default long rowBytes(long n) {
        return type().bytesFor(n);
    }

    /** Whether a non-null importance vector changes the output (ggml has an imatrix path for this type). */
    boolean usesImportance();

    /**
     * Quantizes {@code src[srcOff .. srcOff+n)} into {@code dst} at {@code dstOff}.
     *
     * @param importance null, or per-element weights with at least {@code n} entries, all finite
     */
    void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff);

    /** Decodes {@code n} elements starting at {@code srcOff} into {@code dst[dstOff .. dstOff+n)}. */
    void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n);

    /** The floats of {@link #dequantizeRow}, by the Vector API path unless {@link VectorMode#ENABLED} is false. */
    default void decodeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        if (VectorMode.ENABLED) {
            decodeRowVector(src, srcOff, dst, dstOff, n);
        } else {
            dequantizeRow(src, srcOff, dst, dstOff, n);
        }
    }

    /** {@link #dequantizeRow} with the Vector API, bit for bit the same floats, signed zeros included. */
    void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n);

    /**
     * {@code ggml_validate_row_data}, which llama-quantize runs on every row it writes: the index of the first block
     * (for F32/F16/BF16: element) of the {@code n}-element row at {@code off} whose value or scale field (d, and m or
     * dmin where the block has one) is inf or NaN, or −1 if the row is valid.
     */
    long firstInvalidBlock(MemorySegment w, long off, int n);

    /** Σ w_j·x_{xOff+j} over {@code n} elements of the quantized row at {@code wOff}. */
    default float dot(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        return VectorMode.ENABLED ? dotVector(w, wOff, x, xOff, n) : dotScalar(w, wOff, x, xOff, n);
    }

    /** The readable reference: dequantize block by block, multiply, add in element order (float). */
    default float dotScalar(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        return ScalarDot.dot(this, w, wOff, x, xOff, n);
    }

    /** The Vector API path, written against {@link VectorMode#FLOAT_SPECIES}. */
    float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n);
}
