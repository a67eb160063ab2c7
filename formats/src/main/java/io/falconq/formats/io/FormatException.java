package io.falconq.formats.io;

import java.nio.file.Path;

/**
 * A file breaks a rule of its on-disk format. The message names the file, the byte offset (or -1 when
 * not meaningful), and what was expected versus found, e.g.
 * {@code model.safetensors: offset 8: header length 8.2e18 exceeds file size 1.3 GB (truncated download?)}.
 */
public class FormatException extends InvalidInputException {
    private final Path file;
    private final long offset;

    public FormatException(Path file, long offset, String what) {
        super(describe(file, offset, what));
        this.file = file;
        this.offset = offset;
    }

    public FormatException(Path file, long offset, String what, Throwable cause) {
        super(describe(file, offset, what), cause);
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    /** Byte offset in the file where the problem was found, or -1. */
    public long offset() {
        return offset;
    }

    private static String describe(Path file, long offset, String what) {
        String where = file == null ? "" : file + ": ";
        return offset >= 0 ? where + "offset " + offset + ": " + what : where + what;
    }
}
