package io.falconq.formats.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.falconq.formats.io.FormatException;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The JSON parser used for every JSON file falconq reads (safetensors headers, {@code config.json}, shard
 * indexes): strict UTF-8, duplicate keys rejected ({@code STRICT_DUPLICATE_DETECTION}), no trailing tokens,
 * and errors reported as {@link FormatException}s carrying the byte offset. Objects keep their key order.
 */
public final class StrictJson {
    /** Jackson's default string/name caps (20 M chars / 50 k chars) are below what a valid 100 MB header may hold. */
    private static final int MAX_TEXT = 100_000_000;

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(MAX_TEXT)
                    .maxNameLength(MAX_TEXT)
                    .maxNestingDepth(1000)
                    .build())
            .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private StrictJson() {
    }

    /**
     * Parses {@code utf8[from, to)} as one JSON value.
     *
     * @param fileOffset file offset of {@code utf8[from]}, used in error messages
     * @param what       what the text is ("header JSON", "config.json") for messages
     */
    public static JsonNode parse(Path file, byte[] utf8, int from, int to, long fileOffset, String what) {
        int bad = firstInvalidUtf8(utf8, from, to);
        if (bad >= 0) {
            throw new FormatException(file, fileOffset + (bad - from), what + " is not valid UTF-8 (byte 0x"
                    + Integer.toHexString(utf8[bad] & 0xff) + ")");
        }
        String text = new String(utf8, from, to - from, StandardCharsets.UTF_8);
        try {
            return MAPPER.readTree(text);
        } catch (JacksonException e) {
            JsonLocation loc = e.getLocation();
            long at = fileOffset;
            if (loc != null && loc.getCharOffset() >= 0 && loc.getCharOffset() <= text.length()) {
                at += text.substring(0, (int) loc.getCharOffset()).getBytes(StandardCharsets.UTF_8).length;
            }
            String msg = e.getOriginalMessage();
            if (msg != null && msg.startsWith("Duplicate field ")) {
                throw new FormatException(file, at, what + " has a duplicate key " + msg.substring("Duplicate field ".length()), e);
            }
            if (msg != null && msg.startsWith("Trailing token")) {
                throw new FormatException(file, at, what + " is not valid JSON: unexpected content after the end of the value", e);
            }
            throw new FormatException(file, at, what + " is not valid JSON: " + msg, e);
        }
    }

    /** Reads and parses a whole JSON file (refusing files over 100 MB). */
    public static JsonNode readFile(Path file) {
        byte[] bytes = InputFiles.readAll(file, MAX_TEXT);
        return parse(file, bytes, 0, bytes.length, 0, file.getFileName() + "");
    }

    /**
     * Index of the first byte of {@code b[from, to)} that does not belong to a well-formed UTF-8 sequence
     * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or -1. Same rule as Rust's
     * {@code core::str::from_utf8}, which the safetensors reference applies to the header.
     */
    public static int firstInvalidUtf8(byte[] b, int from, int to) {
        int i = from;
        while (i < to) {
            int c = b[i] & 0xff;
            if (c < 0x80) {
                i++;
                continue;
            }
            int len;
            int min;
            if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                min = 0x80;
            } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                min = 0x800;
            } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                min = 0x10000;
            } else {
                return i;
            }
            if (i + len > to) {
                return i;
            }
            int cp = c & (0xff >> (len + 1));
            for (int k = 1; k < len; k++) {
                int cc = b[i + k] & 0xff;
                if ((cc & 0xc0) != 0x80) {
                    return i;
                }
                cp = (cp << 6) | (cc & 0x3f);
            }
            if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                return i;
            }
            i += len;
        }
        return -1;
    }
}
