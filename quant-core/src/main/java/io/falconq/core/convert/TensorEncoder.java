package io.falconq.core.convert;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.model.TensorRole;
import io.falconq.core.quant.BlockCodec;
import io.falconq.core.quant.FloatRows;
import io.falconq.core.quant.QuantType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * One planned tensor's rows as written: decoded from the source's BF16/F16/F32 to float32, transformed and µP-folded,
 * checked for non-finite weights, and encoded by the codec of the planned type. {@link GgufConversion} runs it chunk
 * by chunk into the file; {@link #encode} runs it into memory for {@code falconq measure}.
 */
public final class TensorEncoder {
    /**
     * Elements per work chunk (at least one row); llama-quantize uses at least 32·512. 64 Ki floats keep every
     * buffer at 256 KiB or less, below G1's humongous-object threshold, so chunk buffers never grow the old generation.
     */
    static final int CHUNK_ELEMENTS = 1 << 16;

    /** Per-worker float32 scratch for one chunk, reused across chunks and tensors. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[CHUNK_ELEMENTS]);

    private TensorEncoder() {
    }

    /** The codec of {@link QuantType}, or null for types falconq cannot write. */
    public static BlockCodec codecOrNull(GgmlType type) {
        try {
            return QuantType.of(type).codec();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * One planned tensor encoded in memory exactly as {@link GgufConversion#run} writes it (the same decode,
     * transform, µP folding, importance and codec): what {@code falconq measure} swaps into the forward pass to price
     * a single tensor's type.
     */
    public static MemorySegment encode(PlannedTensor t, TensorView view, BlockCodec codec) {
        checkUnchanged(t, view);
        long rowBytes = t.type().bytesFor(t.rowLength());
        long rows = t.rowCount();
        int chunkRows = chunkRows(t);
        MemorySegment out = Arena.ofAuto().allocate(t.bytes(), 64);
        ChunkBuffers buffers = new ChunkBuffers(1);
        for (long r0 = 0; r0 < rows; r0 += chunkRows) {
            int n = (int) Math.min(chunkRows, rows - r0);
            Chunk c = convertRows(t, view, codec, r0, n, buffers);
            MemorySegment.copy(MemorySegment.ofArray(c.bytes()), 0, out, r0 * rowBytes, c.length());
            buffers.give(c.bytes());
        }
        return out;
    }

    static void checkUnchanged(PlannedTensor t, TensorView view) {
        if (view.elementCount() != t.elementCount() || view.type() != t.sourceType()) {
            throw new IllegalStateException(t.sourceName() + ": source changed since planning");
        }
    }

    /** Rows per chunk: {@link #CHUNK_ELEMENTS} worth, at least one. */
    static int chunkRows(PlannedTensor t) {
        int rowLength = Math.toIntExact(t.rowLength());
        return (int) Math.max(1, Math.min(t.rowCount(), CHUNK_ELEMENTS / Math.max(1, rowLength)));
    }

    /** Encoded rows {@code [.., endRow)}: the first {@code length} bytes of {@code bytes}, a recycled buffer. */
    record Chunk(byte[] bytes, int length, long endRow) {
    }

    /**
     * Output buffers recycled between chunks, so a conversion allocates a handful of buffers rather than one per
     * chunk: without reuse, gigabytes of short-lived garbage let the collector grow the heap, and peak RSS with it.
     */
    static final class ChunkBuffers {
        private final Deque<byte[]> free = new ArrayDeque<>();
        private final int keep;

        ChunkBuffers(int keep) {
            this.keep = keep;
        }

        synchronized byte[] take(int size) {
            for (var it = free.iterator(); it.hasNext(); ) {
                byte[] b = it.next();
                if (b.length >= size) {
                    it.remove();
                    return b;
                }
            }
            return new byte[Math.max(size, 4 * CHUNK_ELEMENTS)];
        }

        synchronized void give(byte[] b) {
            if (free.size() < keep) {
                free.push(b);
            }
        }
    }

    /** Rows {@code [r0, r0+n)}: decode to float32, transform and fold, check finiteness, encode. */
    static Chunk convertRows(PlannedTensor t, TensorView view, BlockCodec codec, long r0, int n, ChunkBuffers buffers) {
        int rowLength = Math.toIntExact(t.rowLength());
        long rowBytes = t.type().bytesFor(rowLength);
        int count = n * rowLength;
        float[] buf = SCRATCH.get();
        if (buf.length < count) {
            buf = new float[count];
            SCRATCH.set(buf);
        }
        decode(view, r0 * rowLength, buf, count);
        int bad = FloatRows.firstNonFinite(buf, 0, count);
        if (bad >= 0) {
            throw new InvalidInputException(t.sourceName() + ": non-finite weight " + buf[bad] + " at row "
                    + (r0 + bad / rowLength) + ", column " + (bad % rowLength) + " (the source checkpoint is corrupt)");
        }
        for (int i = 0; i < n; i++) {
            int off = i * rowLength;
            long row = r0 + i;
            if (t.transform() == TensorRole.Transform.NEG_EXP) {
                for (int j = off; j < off + rowLength; j++) {
                    buf[j] = -NumpyFloat32Exp.exp(buf[j]);
                }
            }
            if (t.folding() != null && !t.folding().isIdentity()) {
                t.folding().applyToRow(row, buf, off, rowLength);
            }
        }
        int length = Math.toIntExact(n * rowBytes);
        byte[] out = buffers.take(length);
        MemorySegment seg = MemorySegment.ofArray(out);
        for (int i = 0; i < n; i++) {
            codec.quantizeRow(buf, i * rowLength, rowLength, t.importance(), seg, i * rowBytes);
        }
        return new Chunk(out, length, r0 + n);
    }

    /** Elements {@code [first, first+count)} of a BF16, F16 or F32 tensor as float32 (exact widening), by its codec. */
    private static void decode(TensorView view, long first, float[] dst, int count) {
        switch (view.type()) {
            case F32, F16, BF16 -> QuantType.of(view.type()).codec()
                    .decodeRow(view.data(), view.type().bytesFor(first), dst, 0, count);
            default -> throw new IllegalStateException(view.name() + ": cannot decode " + view.type());
        }
    }
}
