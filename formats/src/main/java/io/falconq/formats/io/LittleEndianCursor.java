package io.falconq.formats.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A read position over a little-endian {@link MemorySegment}. Every read is bounds-checked and a failure is a
 * {@link FormatException} naming the file, the offset and what was being read, so a truncated or corrupt file
 * can never surface as an {@code IndexOutOfBoundsException}.
 */
public final class LittleEndianCursor {

    private final Path file;
    private final MemorySegment segment;
    private long position;

    public LittleEndianCursor(Path file, MemorySegment segment, long position) {
        this.file = file;
        this.segment = segment;
        this.position = position;
    }

    public Path file() {
        return file;
    }

    public long position() {
        return position;
    }

    public long size() {
        return segment.byteSize();
    }

    public long remaining() {
        return segment.byteSize() - position;
    }

    /** Moves to {@code offset}, which may equal the end of the segment but not pass it. */
    public void seek(long offset, String what) {
        if (offset < 0 || offset > segment.byteSize()) {
            throw error(position, what + " at offset " + offset + " is past the end of the file (size "
                    + segment.byteSize() + "; truncated?)");
        }
        position = offset;
    }

    /** Fails unless {@code n} more bytes are available for {@code what}. */
    public void require(long n, String what) {
        if (n < 0 || n > remaining()) {
            throw error(position, "truncated: " + what + " needs " + (n < 0 ? Long.toUnsignedString(n) : n)
                    + " bytes but only " + remaining() + " remain (file size " + segment.byteSize() + "; truncated download?)");
        }
    }

    /** A {@link FormatException} at {@code offset} in this cursor's file. */
    public FormatException error(long offset, String what) {
        return new FormatException(file, offset, what);
    }

    public byte i8(String what) {
        return segment.get(ValueLayout.JAVA_BYTE, advance(1, what));
    }

    public int u8(String what) {
        return i8(what) & 0xff;
    }

    public short i16(String what) {
        return segment.get(LittleEndianLayout.SHORT, advance(2, what));
    }

    public int u16(String what) {
        return i16(what) & 0xffff;
    }

    public int i32(String what) {
        return segment.get(LittleEndianLayout.INT, advance(4, what));
    }

    /** An unsigned 32-bit value widened to a long. */
    public long u32(String what) {
        return Integer.toUnsignedLong(i32(what));
    }

    /** A 64-bit value; for a {@code uint64_t} field, values of 2^63 and above come back negative. */
    public long i64(String what) {
        return segment.get(LittleEndianLayout.LONG, advance(8, what));
    }

    public float f32(String what) {
        return segment.get(LittleEndianLayout.FLOAT, advance(4, what));
    }

    public double f64(String what) {
        return segment.get(LittleEndianLayout.DOUBLE, advance(8, what));
    }

    /** The position of the next {@code n} bytes of {@code what}, which must be there; moves past them. */
    private long advance(long n, String what) {
        require(n, what);
        long at = position;
        position += n;
        return at;
    }

    public byte[] bytes(long n, String what) {
        require(n, what);
        if (n > Integer.MAX_VALUE - 8) {
            throw error(position, what + " of " + n + " bytes is too large to hold in memory");
        }
        byte[] b = segment.asSlice(position, n).toArray(ValueLayout.JAVA_BYTE);
        position += n;
        return b;
    }

    /**
     * {@code uint64_t len; char data[len]} decoded as UTF-8 (invalid sequences become U+FFFD, as the C reader does
     * not validate encoding). Lengths above {@code maxLength} or past the end of the file are rejected before
     * anything is allocated.
     */
    public String string(long maxLength, String what) {
        return readString(maxLength, what, -1);
    }

    /**
     * Element {@code index} of the string array {@code arrayKey}, read as {@link #string}; the label for an error
     * message is only built on failure (a tokenizer's vocabulary is 10⁵ strings).
     */
    public String arrayString(long maxLength, String arrayKey, int index) {
        return readString(maxLength, arrayKey, index);
    }

    private String readString(long maxLength, String name, int index) {
        long at = position;
        if (remaining() < 8) {
            require(8, stringLabel(name, index) + " length");
        }
        long len = segment.get(LittleEndianLayout.LONG, position);
        if (len < 0 || len > maxLength) {
            throw error(at, stringLabel(name, index) + ": string length " + Long.toUnsignedString(len)
                    + " exceeds the limit of " + maxLength + " bytes (corrupt file?)");
        }
        position += 8;
        if (len > remaining()) {
            throw error(at, stringLabel(name, index) + ": string length " + len + " runs past the end of the file ("
                    + remaining() + " bytes remain; truncated download?)");
        }
        if (len > Integer.MAX_VALUE - 8) {
            throw error(position, stringLabel(name, index) + " of " + len + " bytes is too large to hold in memory");
        }
        byte[] b = new byte[(int) len];
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, position, b, 0, b.length);
        position += len;
        return new String(b, StandardCharsets.UTF_8);
    }

    private static String stringLabel(String name, int index) {
        return index < 0 ? name : "element " + index + " of '" + name + "'";
    }
}
