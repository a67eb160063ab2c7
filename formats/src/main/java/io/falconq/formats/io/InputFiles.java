package io.falconq.formats.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The one rule for every file falconq reads: it must be a regular file (a symbolic link to one is fine, as in the
 * Hugging Face cache), checked before it is opened, and files read whole must be under a size cap checked before
 * anything is allocated. A FIFO, device, socket or folder where a file is expected is an {@link InvalidInputException}
 * at once: opening a FIFO blocks until a writer appears, and {@code /dev/zero} never ends.
 */
public final class InputFiles {
    /** Cap for JSON metadata files (config.json, index, tokenizer_config.json, report.json). */
    public static final long MAX_JSON_BYTES = 100L << 20;
    /** Cap for tokenizer.json: the largest published ones (256k-token vocabularies) are about 35 MB. */
    public static final long MAX_TOKENIZER_BYTES = 256L << 20;
    /** Cap for text read whole (calibration and evaluation text, variant lists). */
    public static final long MAX_TEXT_BYTES = 256L << 20;

    private InputFiles() {
    }

    /** {@code path} when it is (or links to) a regular file; otherwise an exit-3 error saying what it is. */
    public static Path requireRegular(Path path) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (IOException e) {
            throw InvalidInputException.unreadable(path, e);
        }
        if (a.isDirectory()) {
            throw new InvalidInputException(path + ": is a directory (expected a file)");
        }
        if (!a.isRegularFile()) {
            throw new InvalidInputException(path + ": is not a regular file (a FIFO, device or socket; expected a file)");
        }
        return path;
    }

    /** The whole file, refused before reading when it is not a regular file or is over {@code maxBytes}. */
    public static byte[] readAll(Path path, long maxBytes) {
        requireRegular(path);
        try (InputStream in = Files.newInputStream(path)) {
            long size = Files.size(path);
            if (size > maxBytes) {
                throw new InvalidInputException(path + ": is " + size + " bytes, over the " + maxBytes + "-byte limit");
            }
            byte[] bytes = in.readNBytes((int) maxBytes + 1);
            if (bytes.length > maxBytes) {
                throw new InvalidInputException(path + ": grew over the " + maxBytes + "-byte limit while read");
            }
            return bytes;
        } catch (IOException e) {
            throw InvalidInputException.unreadable(path, e);
        }
    }

    /** The whole file as strict UTF-8 text (see {@link #readAll}). */
    public static String readUtf8(Path path, long maxBytes) {
        byte[] bytes = readAll(path, maxBytes);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new InvalidInputException(path + ": is not UTF-8 text: " + e.getMessage(), e);
        }
    }
}
