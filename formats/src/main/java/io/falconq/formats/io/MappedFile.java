package io.falconq.formats.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One read-only memory mapping of a whole file. Mapping does not read the file: pages are faulted in on
 * access. A shared arena lets worker threads read the segment; {@link #close()} unmaps it.
 */
public final class MappedFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment segment;

    private MappedFile(Path path, Arena arena, MemorySegment segment) {
        this.path = path;
        this.arena = arena;
        this.segment = segment;
    }

    public static MappedFile open(Path path) {
        InputFiles.requireRegular(path);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            Arena arena = Arena.ofShared();
            try {
                long size = channel.size();
                MemorySegment segment = size == 0 ? MemorySegment.NULL.reinterpret(0)
                        : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return new MappedFile(path, arena, segment);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (IOException e) {
            throw InvalidInputException.unreadable(path, e);
        }
    }

    public Path path() {
        return path;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long size() {
        return segment.byteSize();
    }

    /**
     * Drops {@code segment}'s pages from the resident set (they are read again from the file if touched) when it is
     * part of a file mapping; a heap or native segment (a test source in memory) is left as it is.
     */
    public static void unloadIfMapped(MemorySegment segment) {
        if (segment.isMapped()) {
            segment.unload();
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
