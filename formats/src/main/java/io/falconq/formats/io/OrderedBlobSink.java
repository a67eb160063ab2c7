package io.falconq.formats.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The data half of a format writer: accepts tensor blobs only in the declared order and only with exactly the
 * declared byte counts, zero-pads each blob to {@code alignment}, and streams everything to an
 * {@link AtomicOutput} so memory stays bounded by one caller-supplied chunk. The write order may differ from the
 * file order ({@link #OrderedBlobSink(AtomicOutput, List, long, List)}): each blob is then written at its place in
 * the file, which is fully determined by the declared sizes, so the bytes are the same in any order. A wrong name, a short or a long blob
 * is an {@link IllegalStateException} (a bug in the caller, as in gguf-py's {@code WriterState} checks).
 * {@link #finish()} commits the output; {@link #close()} without it deletes the temporary file.
 *
 * <p>Shared by {@code GgufWriter} (alignment 32) and {@code SafetensorsWriter} (alignment 1).
 */
public final class OrderedBlobSink implements AutoCloseable {
    /** A declared blob: its name and exact byte count. */
    public record Blob(String name, long size) {
        public Blob {
            if (size < 0) {
                throw new IllegalArgumentException("blob " + name + " has negative size " + size);
            }
        }
    }

    /** Largest slice handed to one {@code FileChannel.write}; keeps ByteBuffer views far from the 2 GiB limit. */
    /** Bytes between background fsyncs ({@link AtomicOutput#startWriteback()}). */
    private static final long WRITEBACK_BYTES = 64L << 20;
    private long unsynced;
    private static final long WRITE_SLICE = 8L << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 16).asReadOnlyBuffer();

    private final AtomicOutput out;
    private final FileChannel channel;
    private final List<Blob> writeOrder;
    private final Map<String, Long> offsets = new HashMap<>();
    private final long alignment;
    private int next;
    private Blob current;
    private long currentWritten;
    private boolean failed;
    private boolean completed;
    private boolean finished;

    /**
     * @param out       the output, already holding the header; blobs are appended at its channel's position
     * @param alignment pad each blob to a multiple of this many bytes, counted from the file start (1 = no padding)
     */
    public OrderedBlobSink(AtomicOutput out, List<Blob> blobs, long alignment) {
        this(out, blobs, alignment, blobs.stream().map(Blob::name).toList());
    }

    /**
     * @param writeOrder the names of all {@code blobs}, each once, in the order the caller will write them
     */
    public OrderedBlobSink(AtomicOutput out, List<Blob> blobs, long alignment, List<String> writeOrder) {
        if (alignment <= 0) {
            throw new IllegalArgumentException("alignment " + alignment);
        }
        this.out = out;
        this.channel = out.channel();
        this.alignment = alignment;
        Map<String, Blob> byName = new HashMap<>();
        long offset;
        try {
            offset = channel.position();
        } catch (IOException e) {
            throw new OutputException(out.target() + ": " + e.getMessage(), e);
        }
        for (Blob b : blobs) {
            if (byName.put(b.name(), b) != null) {
                throw new IllegalArgumentException("blob " + b.name() + " is declared twice");
            }
            offsets.put(b.name(), offset);
            offset = Math.addExact(offset, b.size());
            offset = Math.addExact(offset, (alignment - offset % alignment) % alignment);
        }
        List<Blob> order = new ArrayList<>();
        for (String name : writeOrder) {
            Blob b = byName.remove(name);
            if (b == null) {
                throw new IllegalArgumentException("write order names " + name + ", which is not declared or is listed twice");
            }
            order.add(b);
        }
        if (!byName.isEmpty()) {
            throw new IllegalArgumentException("write order leaves out " + byName.keySet());
        }
        this.writeOrder = List.copyOf(order);
    }

    /**
     * Creates {@code target} ({@link AtomicOutput#create}), writes {@code head} (what stands before the data: a
     * format's header) and zeros up to a multiple of {@code alignment}, and returns the sink for the blobs, which are
     * laid out from there. On any failure the temporary file is deleted.
     */
    public static OrderedBlobSink create(Path target, boolean force, List<Blob> blobs, long alignment,
                                         List<String> writeOrder, ByteBuffer... head) {
        AtomicOutput output = AtomicOutput.create(target, force);
        try {
            FileChannel channel = output.channel();
            for (ByteBuffer part : head) {
                while (part.hasRemaining()) {
                    channel.write(part);
                }
            }
            ByteBuffer zeros = ByteBuffer.allocate((int) ((alignment - channel.position() % alignment) % alignment));
            while (zeros.hasRemaining()) {
                channel.write(zeros);
            }
            return new OrderedBlobSink(output, blobs, alignment, writeOrder);
        } catch (IOException e) {
            output.close();
            throw new OutputException(target + ": write failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            output.close();
            throw e;
        }
    }

    public Blob nextBlob() {
        return next < writeOrder.size() ? writeOrder.get(next) : null;
    }

    /** Starts the next declared blob, which must be {@code name}. */
    public void startTensor(String name) {
        checkUsable();
        if (current != null) {
            throw new IllegalStateException("tensor '" + current.name() + "' is still open (" + currentWritten + " of "
                    + current.size() + " bytes written); call endTensor() first");
        }
        if (next >= writeOrder.size()) {
            throw new IllegalStateException("all " + writeOrder.size() + " declared tensors are written; got extra tensor '" + name + "'");
        }
        Blob expected = writeOrder.get(next);
        if (!expected.name().equals(name)) {
            throw new IllegalStateException("expected tensor '" + expected.name() + "' (" + (next + 1) + " of "
                    + writeOrder.size() + ") next, got '" + name + "'");
        }
        try {
            long at = offsets.get(name);
            if (channel.position() != at) {
                channel.position(at);
            }
        } catch (IOException e) {
            failed = true;
            throw new OutputException(out.target() + ": seek failed: " + e.getMessage(), e);
        }
        current = expected;
        currentWritten = 0;
    }

    /** Appends bytes to the open blob; more than its declared size is an {@link IllegalStateException}. */
    public void writeChunk(MemorySegment chunk) {
        checkUsable();
        if (current == null) {
            throw new IllegalStateException("no tensor is open; call startTensor(name) first");
        }
        long n = chunk.byteSize();
        if (n > current.size() - currentWritten) {
            throw new IllegalStateException("tensor '" + current.name() + "' is declared as " + current.size()
                    + " bytes, but " + (currentWritten + n) + " were written");
        }
        for (long off = 0; off < n; off += WRITE_SLICE) {
            writeFully(chunk.asSlice(off, Math.min(WRITE_SLICE, n - off)).asByteBuffer());
        }
        currentWritten += n;
    }

    /** Ends the open blob, which must be complete, and writes its zero padding. */
    public void endTensor() {
        checkUsable();
        if (current == null) {
            throw new IllegalStateException("no tensor is open");
        }
        if (currentWritten != current.size()) {
            throw new IllegalStateException("tensor '" + current.name() + "' is declared as " + current.size()
                    + " bytes, but only " + currentWritten + " were written");
        }
        pad();
        current = null;
        next++;
    }

    /** A whole blob: {@code startTensor}, one chunk, {@code endTensor}. */
    public void write(String name, MemorySegment bytes) {
        startTensor(name);
        if (bytes.byteSize() != current.size()) {
            long declared = current.size();
            current = null;
            throw new IllegalStateException("tensor '" + name + "' is declared as " + declared + " bytes, got "
                    + bytes.byteSize());
        }
        writeChunk(bytes);
        endTensor();
    }

    /** Checks that every declared blob was written, fsyncs and atomically renames the output into place. */
    public void finish() {
        complete();
        commit();
    }

    /**
     * Checks that every declared blob was written, without committing: a writer of several files that must appear
     * together completes them all, then {@link #commit()}s them.
     */
    public void complete() {
        checkUsable();
        if (current != null || next != writeOrder.size()) {
            throw new IllegalStateException("cannot finish: " + (writeOrder.size() - next) + " of " + writeOrder.size()
                    + " declared tensors not written" + (current != null ? " ('" + current.name() + "' is open)" : "")
                    + (next < writeOrder.size() ? "; next is '" + writeOrder.get(next).name() + "'" : ""));
        }
        completed = true;
    }

    /** Fsyncs and atomically renames the {@link #complete() completed} output into place. */
    public void commit() {
        checkUsable();
        if (!completed) {
            throw new IllegalStateException("output " + out.target() + " is not complete");
        }
        out.commit();
        finished = true;
    }

    public boolean finished() {
        return finished;
    }

    /** Deletes the temporary file unless {@link #finish()} succeeded. */
    @Override
    public void close() {
        out.close();
    }

    private void pad() {
        try {
            long pos = channel.position();
            long padding = (alignment - pos % alignment) % alignment;
            while (padding > 0) {
                ByteBuffer z = ZEROS.duplicate();
                z.limit((int) Math.min(z.capacity(), padding));
                padding -= z.remaining();
                writeFully(z);
            }
        } catch (IOException e) {
            failed = true;
            throw new OutputException(out.target() + ": write failed: " + e.getMessage(), e);
        }
    }

    private void writeFully(ByteBuffer b) {
        try {
            unsynced += b.remaining();
            while (b.hasRemaining()) {
                channel.write(b);
            }
            if (unsynced >= WRITEBACK_BYTES) {
                out.startWriteback();
                unsynced = 0;
            }
        } catch (IOException e) {
            failed = true;
            throw new OutputException(out.target() + ": write failed: " + e.getMessage(), e);
        }
    }

    private void checkUsable() {
        if (finished) {
            throw new IllegalStateException("output " + out.target() + " is already finished");
        }
        if (failed) {
            throw new IllegalStateException("output " + out.target() + " failed earlier; it cannot be continued");
        }
    }
}
