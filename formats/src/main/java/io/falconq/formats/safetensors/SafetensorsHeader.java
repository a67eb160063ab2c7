package io.falconq.formats.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.io.FormatException;
import io.falconq.formats.io.LittleEndianLayout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The parsed header of a safetensors file.
 *
 * <pre>
 * u64 LE   n                 header length
 * n bytes  UTF-8 JSON object {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}, ...}
 * rest     data section      tensors back to back, data_offsets relative to its start
 * </pre>
 *
 * @param headerLength    n, the JSON length including any padding spaces
 * @param metadataPresent whether the header had a {@code "__metadata__"} object (kept so a rewrite is byte-identical)
 * @param metadata        {@code "__metadata__"} entries in file order (empty when absent)
 * @param tensors         tensor entries sorted by data offset (storage order)
 */
public record SafetensorsHeader(long headerLength, boolean metadataPresent, Map<String, String> metadata,
                                List<SafetensorsTensorInfo> tensors) {
    /** {@code MAX_HEADER_SIZE} in safetensors/src/tensor.rs. */
    public static final long MAX_HEADER_LENGTH = 100_000_000L;
    public static final String METADATA_KEY = "__metadata__";

    public SafetensorsHeader {
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        tensors = List.copyOf(tensors);
    }

    /** File offset of the data section: 8 + n. */
    public long dataOffset() {
        return 8 + headerLength;
    }

    /** Bytes in the data section: the last tensor's end (0 without tensors). */
    public long dataLength() {
        return tensors.isEmpty() ? 0 : tensors.getLast().end();
    }

    /**
     * Parses and validates the header of a whole safetensors file mapped as {@code file}. Enforces every rule of
     * {@code SafeTensors::read_metadata} and {@code Metadata::validate} in safetensors/src/tensor.rs, plus:
     * the header starts with '{' (the rule tensor.rs planned for 0.4), no duplicate keys, and each entry is checked
     * field by field so the message names the tensor.
     */
    public static SafetensorsHeader parse(Path path, MemorySegment file) {
        long fileSize = file.byteSize();
        // u64 n: header length
        if (fileSize < 8) {
            throw new FormatException(path, 0, "file is " + fileSize
                    + " bytes, too short for the 8-byte header length (truncated or not a safetensors file?)");
        }
        long n = file.get(LittleEndianLayout.LONG, 0);
        if (n < 0 || n > MAX_HEADER_LENGTH) {
            throw new FormatException(path, 0, "header length " + Long.toUnsignedString(n) + " exceeds the "
                    + MAX_HEADER_LENGTH + "-byte limit (not a safetensors file, or corrupt?)");
        }
        if (8 + n > fileSize) {
            throw new FormatException(path, 0, "header length " + n + " runs past the end of the file (8 + " + n
                    + " > file size " + fileSize + "; truncated download?)");
        }
        if (n == 0 || file.get(ValueLayout.JAVA_BYTE, 8) != '{') {
            throw new FormatException(path, 8, "header does not start with '{' (found "
                    + (n == 0 ? "an empty header" : "byte 0x" + Integer.toHexString(file.get(ValueLayout.JAVA_BYTE, 8) & 0xff))
                    + "; not a safetensors file?)");
        }
        byte[] json = file.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root = StrictJson.parse(path, json, 0, json.length, 8, "header JSON");
        if (!root.isObject()) {
            throw new FormatException(path, 8, "header JSON is a " + root.getNodeType().name().toLowerCase(Locale.ROOT)
                    + ", expected an object");
        }

        boolean metadataPresent = false;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<SafetensorsTensorInfo> tensors = new ArrayList<>(root.size());
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String key = e.getKey();
            JsonNode value = e.getValue();
            if (key.equals(METADATA_KEY)) {
                if (value.isNull()) {
                    continue; // serde reads null as Option::None
                }
                if (!value.isObject()) {
                    throw new FormatException(path, 8, "\"__metadata__\" is a " + kind(value) + ", expected an object of strings");
                }
                metadataPresent = true;
                for (Map.Entry<String, JsonNode> m : value.properties()) {
                    if (!m.getValue().isTextual()) {
                        throw new FormatException(path, 8, "\"__metadata__\" entry \"" + m.getKey() + "\" is a "
                                + kind(m.getValue()) + ", expected a string");
                    }
                    metadata.put(m.getKey(), m.getValue().textValue());
                }
                continue;
            }
            tensors.add(parseEntry(path, key, value));
        }

        // Metadata::try_from sorts by data_offsets; ties (empty tensors) by name so the order is deterministic.
        tensors.sort(Comparator.comparingLong(SafetensorsTensorInfo::begin)
                .thenComparingLong(SafetensorsTensorInfo::end)
                .thenComparing(SafetensorsTensorInfo::name));

        long dataOffset = 8 + n;
        long expectedStart = 0;
        for (SafetensorsTensorInfo t : tensors) {
            if (t.begin() != expectedStart) {
                String cause = t.begin() > expectedStart ? "a gap of " + (t.begin() - expectedStart) + " bytes"
                        : "overlapping the previous tensor by " + (expectedStart - t.begin()) + " bytes";
                throw new FormatException(path, dataOffset, "tensor \"" + t.name() + "\": data_offsets ["
                        + t.begin() + ", " + t.end() + "] should start at " + expectedStart + " (" + cause
                        + "; offsets must be contiguous from 0)");
            }
            if (t.end() < t.begin()) {
                throw new FormatException(path, dataOffset, "tensor \"" + t.name() + "\": data_offsets ["
                        + t.begin() + ", " + t.end() + "] end before they begin");
            }
            expectedStart = t.end();
            long elements = 1;
            for (long d : t.shape()) {
                elements = multiplyOrMinusOne(elements, d);
                if (elements < 0) {
                    throw new FormatException(path, dataOffset, "tensor \"" + t.name() + "\": shape "
                            + java.util.Arrays.toString(t.shape()) + " overflows 64-bit element count");
                }
            }
            long bytes = t.dtype().bytesFor(elements);
            if (bytes == -1) {
                throw new FormatException(path, dataOffset, "tensor \"" + t.name() + "\": shape "
                        + java.util.Arrays.toString(t.shape()) + " x " + t.dtype() + " overflows 64-bit byte count");
            }
            if (bytes == -2) {
                throw new FormatException(path, dataOffset, "tensor \"" + t.name() + "\": " + elements + " elements of "
                        + t.dtype() + " (" + t.dtype().bitSize() + " bits) are not a whole number of bytes");
            }
            if (t.end() - t.begin() != bytes) {
                throw new FormatException(path, dataOffset + t.begin(), "tensor \"" + t.name() + "\": " + t.dtype()
                        + " shape " + java.util.Arrays.toString(t.shape()) + " needs " + bytes
                        + " bytes but data_offsets [" + t.begin() + ", " + t.end() + "] span " + (t.end() - t.begin()));
            }
        }
        if (expectedStart > fileSize - dataOffset || dataOffset + expectedStart != fileSize) {
            long actual = fileSize - dataOffset;
            throw new FormatException(path, dataOffset, "data section is " + actual + " bytes but the tensors cover "
                    + expectedStart + " (8 + header " + n + " + data " + expectedStart + " must equal file size "
                    + fileSize + "; " + (actual < expectedStart ? "truncated download?" : "trailing bytes?") + ")");
        }
        return new SafetensorsHeader(n, metadataPresent, metadata, tensors);
    }

    private static SafetensorsTensorInfo parseEntry(Path path, String name, JsonNode value) {
        if (!value.isObject()) {
            throw new FormatException(path, 8, "tensor \"" + name + "\": entry is a " + kind(value) + ", expected an object");
        }
        JsonNode dtypeNode = required(path, name, value, "dtype");
        if (!dtypeNode.isTextual()) {
            throw new FormatException(path, 8, "tensor \"" + name + "\": \"dtype\" is a " + kind(dtypeNode) + ", expected a string");
        }
        SafetensorsDtype dtype = SafetensorsDtype.fromName(dtypeNode.textValue()).orElseThrow(() ->
                new FormatException(path, 8, "tensor \"" + name + "\": unknown dtype \"" + dtypeNode.textValue()
                        + "\" (known: " + java.util.Arrays.toString(SafetensorsDtype.values()) + ")"));
        JsonNode shapeNode = required(path, name, value, "shape");
        if (!shapeNode.isArray()) {
            throw new FormatException(path, 8, "tensor \"" + name + "\": \"shape\" is a " + kind(shapeNode) + ", expected an array");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = unsigned(path, name, "shape[" + i + "]", shapeNode.get(i));
        }
        JsonNode offsets = required(path, name, value, "data_offsets");
        if (!offsets.isArray() || offsets.size() != 2) {
            throw new FormatException(path, 8, "tensor \"" + name + "\": \"data_offsets\" is " + offsets
                    + ", expected [begin, end]");
        }
        long begin = unsigned(path, name, "data_offsets[0]", offsets.get(0));
        long end = unsigned(path, name, "data_offsets[1]", offsets.get(1));
        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    private static JsonNode required(Path path, String name, JsonNode entry, String field) {
        JsonNode v = entry.get(field);
        if (v == null) {
            throw new FormatException(path, 8, "tensor \"" + name + "\": missing \"" + field + "\"");
        }
        return v;
    }

    /** A JSON integer in [0, 2^63); larger values cannot describe bytes of a real file. */
    private static long unsigned(Path path, String name, String field, JsonNode v) {
        if (!v.isIntegralNumber()) {
            throw new FormatException(path, 8, "tensor \"" + name + "\": " + field + " is " + v
                    + ", expected a non-negative integer");
        }
        if (v.canConvertToLong() && v.longValue() >= 0) {
            return v.longValue();
        }
        if (v.bigIntegerValue().signum() < 0) {
            throw new FormatException(path, 8, "tensor \"" + name + "\": " + field + " is negative (" + v + ")");
        }
        throw new FormatException(path, 8, "tensor \"" + name + "\": " + field + " = " + v
                + " overflows 64-bit arithmetic");
    }

    private static long multiplyOrMinusOne(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return hi != 0 || lo < 0 ? -1 : lo;
    }

    private static String kind(JsonNode v) {
        return v.getNodeType().name().toLowerCase(Locale.ROOT);
    }
}
