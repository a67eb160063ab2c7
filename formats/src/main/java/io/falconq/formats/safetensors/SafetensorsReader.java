package io.falconq.formats.safetensors;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.MappedFile;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens safetensors files. See {@link SafetensorsHeader#parse} for the rules enforced. */
public final class SafetensorsReader {
    private SafetensorsReader() {
    }

    /** Maps {@code path} and validates its header; reads nothing but the header. */
    public static SafetensorsFile open(Path path) {
        if (Files.isDirectory(path)) {
            throw new InvalidInputException(path + ": is a directory, expected a .safetensors file");
        }
        MappedFile mapped = MappedFile.open(path);
        try {
            return new SafetensorsFile(path, mapped.segment(), mapped, SafetensorsHeader.parse(path, mapped.segment()));
        } catch (RuntimeException e) {
            mapped.close();
            throw e;
        }
    }

    /**
     * Validates safetensors {@code contents} already in memory (the caller keeps it alive; {@code close()} of the
     * result releases nothing). {@code path} only names the data in messages.
     */
    public static SafetensorsFile read(Path path, MemorySegment contents) {
        return new SafetensorsFile(path, contents, null, SafetensorsHeader.parse(path, contents));
    }
}
