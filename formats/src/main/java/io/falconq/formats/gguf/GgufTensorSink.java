package io.falconq.formats.gguf;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a converter streams planned GGUF tensors: one file ({@link GgufWriter}) or a split model
 * ({@link GgufSplitWriter}). Tensors are accepted only in the declared write order with their exact byte counts;
 * {@link #finish()} commits everything, {@link #close()} without it deletes every temporary file.
 */
public interface GgufTensorSink extends AutoCloseable {
    /** Writes tensor {@code name} whole. */
    void write(String name, MemorySegment bytes);

    /** Streaming variant: {@code startTensor}, any number of {@link #writeChunk}, {@link #endTensor}. */
    void startTensor(String name);

    void writeChunk(MemorySegment chunk);

    void endTensor();

    /** Commits the output; every declared tensor must have been written. */
    void finish();

    /** Total bytes the finished output has (all shards of a split model). */
    long fileSize();

    /** The files the output consists of, first (the one to open) first. */
    List<Path> files();

    @Override
    void close();
}
