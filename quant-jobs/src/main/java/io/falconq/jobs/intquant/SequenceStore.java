package io.falconq.jobs.intquant;

import io.falconq.formats.io.LittleEndianLayout;
import io.falconq.formats.io.OutputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Activations of every calibration sequence at one point of the network ({@code sequences × tokens × width} floats,
 * little-endian), spilled to a file in the job's work folder and read back one sequence at a time: the heap holds
 * one sequence whatever the number of sequences, and the file survives a killed job so it can resume. Reads and
 * writes go through the file channel (the page cache), not a mapping, so the store's size never counts as the
 * process's resident memory. Also the sensitivity job's cache of residual streams.
 */
public final class SequenceStore implements AutoCloseable {

    private final Path file;
    private final FileChannel channel;
    private final int sequences;
    private final int tokens;
    private final int width;
    private final ByteBuffer buffer;
    /** The whole of {@link #buffer}, whatever its position: floats are copied in and out in bulk through it. */
    private final MemorySegment bufferBytes;

    private SequenceStore(Path file, FileChannel channel, int sequences, int tokens, int width) {
        this.file = file;
        this.channel = channel;
        this.sequences = sequences;
        this.tokens = tokens;
        this.width = width;
        this.buffer = ByteBuffer.allocateDirect(Math.multiplyExact(Math.multiplyExact(tokens, width), Float.BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        this.bufferBytes = MemorySegment.ofBuffer(buffer);
    }

    /** Opens (creating if absent) the store at {@code file}; existing content is kept, for a resumed job. */
    public static SequenceStore open(Path file, int sequences, int tokens, int width) {
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return new SequenceStore(file, ch, sequences, tokens, width);
        } catch (IOException e) {
            throw new OutputException(file + ": cannot open the activation store: " + e.getMessage(), e);
        }
    }

    /** Bytes the file takes for these sizes. */
    public static long bytes(int sequences, int tokens, int width) {
        return (long) sequences * tokens * width * Float.BYTES;
    }

    public int width() {
        return width;
    }

    /** Reads sequence {@code seq}'s {@code tokens × width} floats into {@code dst[0 ..]}. */
    public void read(int seq, float[] dst) {
        try {
            buffer.clear();
            long pos = offset(seq);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, pos + buffer.position()) < 0) {
                    throw new OutputException(file + ": activation store ends before sequence " + seq);
                }
            }
            MemorySegment.copy(bufferBytes, LittleEndianLayout.FLOAT, 0, dst, 0, tokens * width);
        } catch (IOException e) {
            throw new OutputException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Writes {@code src[0 .. tokens × width)} as sequence {@code seq}. */
    public void write(int seq, float[] src) {
        try {
            buffer.clear();
            MemorySegment.copy(src, 0, bufferBytes, LittleEndianLayout.FLOAT, 0, tokens * width);
            long pos = offset(seq);
            while (buffer.hasRemaining()) {
                channel.write(buffer, pos + buffer.position());
            }
        } catch (IOException e) {
            throw new OutputException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** Makes what was written durable: a resumed job trusts a store only after this. */
    public void sync() {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw new OutputException(file + ": cannot sync: " + e.getMessage(), e);
        }
    }

    private long offset(int seq) {
        if (seq < 0 || seq >= sequences) {
            throw new IndexOutOfBoundsException("sequence " + seq + " of " + sequences);
        }
        return (long) seq * tokens * width * Float.BYTES;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing was pending: every write went through the channel already
        }
    }
}
