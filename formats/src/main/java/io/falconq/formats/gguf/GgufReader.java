package io.falconq.formats.gguf;

import io.falconq.formats.io.FormatException;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.LittleEndianCursor;
import io.falconq.formats.io.MappedFile;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Opens GGUF files (v2 and v3, little-endian), validating what {@code gguf_init_from_reader} in
 * ggml/src/gguf.cpp validates (GGUF-NOTES.md §1), plus: every count is bounded by the bytes left in the file
 * before anything is allocated, {@code n_dims} must be 1..4, and each tensor's data must lie inside the file
 * (llama-model-loader's bounds check).
 */
public final class GgufReader {
    /** {@code GGUF_MAGIC} "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final int MAX_VERSION = 3;
    /** {@code GGUF_MAX_STRING_LENGTH}. */
    public static final long MAX_STRING_LENGTH = 1L << 30;
    /** {@code GGUF_MAX_ARRAY_ELEMENTS}. */
    public static final long MAX_ARRAY_ELEMENTS = 1L << 30;

    /** Smallest possible KV record: empty-length key (8) + type (4) + a 1-byte value. */
    private static final int MIN_KV_BYTES = 8 + 4 + 1;
    /** Smallest possible tensor info: name length (8) + n_dims (4) + one ne (8) + type (4) + offset (8). */
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

    private GgufReader() {
    }

    /**
     * Opens a GGUF file; the first shard of a split model ({@code split.count} > 1) opens the whole model, checked by
     * {@link GgufSplitReader}.
     */
    public static GgufFile open(Path path) {
        GgufFile file = openSingle(path);
        try {
            int count = GgufSplitReader.count(file);
            return count > 1 ? GgufSplitReader.open(file, count) : file;
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** Whether the file (which must be a regular file) begins with the GGUF magic; a shorter file does not. */
    public static boolean startsWithMagic(Path path) {
        byte[] head;
        try (InputStream in = Files.newInputStream(InputFiles.requireRegular(path))) {
            head = in.readNBytes(4);
        } catch (IOException e) {
            throw InvalidInputException.unreadable(path, e);
        }
        return head.length == 4 && ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt() == MAGIC;
    }

    /** Opens exactly this file, also when it is a shard of a split model. */
    public static GgufFile openSingle(Path path) {
        if (Files.isDirectory(path)) {
            throw new InvalidInputException(path + ": is a directory, expected a .gguf file");
        }
        MappedFile mapped = MappedFile.open(path);
        try {
            return parse(path, mapped.segment(), mapped);
        } catch (RuntimeException e) {
            mapped.close();
            throw e;
        }
    }

    /**
     * Validates GGUF {@code contents} already in memory (the caller keeps it alive; {@code close()} of the result
     * releases nothing). {@code path} only names the data in messages.
     */
    public static GgufFile read(Path path, MemorySegment contents) {
        return parse(path, contents, null);
    }

    private static GgufFile parse(Path path, MemorySegment contents, MappedFile owner) {
        LittleEndianCursor in = new LittleEndianCursor(path, contents, 0);

        // uint32_t magic
        if (in.remaining() < 4) {
            throw in.error(0, "file is " + in.size() + " bytes, too short for the GGUF magic (not a GGUF file?)");
        }
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw in.error(0, "bad magic " + printable(magic) + ", expected \"GGUF\" (not a GGUF file?)");
        }
        // uint32_t version
        long version = in.u32("version");
        if (version == 0) {
            throw in.error(4, "bad GGUF version 0");
        }
        if ((version & 0xffff) == 0) {
            throw in.error(4, "GGUF version " + version + " (0x" + Long.toHexString(version)
                    + ") is implausibly large: a byte-swapped (big-endian) file? Only little-endian GGUF is supported");
        }
        if (version == 1) {
            throw in.error(4, "GGUF version 1 is no longer supported (expected 2 or 3; re-convert the model)");
        }
        if (version > MAX_VERSION) {
            throw in.error(4, "GGUF version " + version + " is newer than the supported version " + MAX_VERSION);
        }
        // int64_t n_tensors
        long nTensors = in.i64("n_tensors");
        if (nTensors < 0 || nTensors > in.remaining() / MIN_TENSOR_INFO_BYTES) {
            throw in.error(8, "n_tensors = " + nTensors + " cannot fit in the " + in.remaining()
                    + " bytes left in the file (each tensor info takes at least " + MIN_TENSOR_INFO_BYTES + ")");
        }
        // int64_t n_kv
        long nKv = in.i64("n_kv");
        if (nKv < 0 || nKv > in.remaining() / MIN_KV_BYTES) {
            throw in.error(16, "n_kv = " + nKv + " cannot fit in the " + in.remaining()
                    + " bytes left in the file (each key/value takes at least " + MIN_KV_BYTES + ")");
        }

        // gguf_kv kv[n_kv]
        GgufMetadata metadata = new GgufMetadata();
        for (long i = 0; i < nKv; i++) {
            long at = in.position();
            // gguf_string_t key
            String key = in.string(MAX_STRING_LENGTH, "key of KV " + i);
            if (key.isEmpty()) {
                throw in.error(at, "key of KV " + i + " is empty");
            }
            if (metadata.containsKey(key)) {
                throw in.error(at, "duplicate key '" + key + "' (KV " + i + ")");
            }
            // uint32_t type
            long typeAt = in.position();
            GgufValueType type = valueType(in, in.u32("value type of '" + key + "'"), typeAt, key);
            metadata.put(key, readValue(in, type, key));
        }

        int alignment = GgufMetadata.DEFAULT_ALIGNMENT;
        if (metadata.containsKey(GgufMetadata.ALIGNMENT_KEY)) {
            GgufValue a = metadata.get(GgufMetadata.ALIGNMENT_KEY);
            if (a.type() != GgufValueType.UINT32) {
                throw new FormatException(path, -1, "'" + GgufMetadata.ALIGNMENT_KEY + "' has type " + a.typeName()
                        + ", must be UINT32");
            }
            long value = (Long) a.value();
            if (value == 0 || (value & (value - 1)) != 0) {
                throw new FormatException(path, -1, "'" + GgufMetadata.ALIGNMENT_KEY + "' = " + value
                        + " is not a power of two");
            }
            alignment = (int) value;
        }

        // gguf_tensor_info_t tensor_infos[n_tensors]
        List<GgufTensorInfo> infos = new ArrayList<>((int) Math.min(nTensors, 1 << 16));
        Set<String> names = new HashSet<>();
        for (long i = 0; i < nTensors; i++) {
            long at = in.position();
            // gguf_string_t name
            String name = in.string(MAX_STRING_LENGTH, "name of tensor " + i);
            int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
            if (nameBytes > GgufTensorInfo.MAX_NAME_BYTES) {
                throw in.error(at, "tensor " + i + " name \"" + name + "\" is " + nameBytes + " bytes, over the "
                        + GgufTensorInfo.MAX_NAME_BYTES + "-byte limit (GGML_MAX_NAME)");
            }
            if (!names.add(name)) {
                throw in.error(at, "duplicate tensor name \"" + name + "\" (tensor " + i + ")");
            }
            // uint32_t n_dims
            long dimsAt = in.position();
            long nDims = in.u32("n_dims of \"" + name + "\"");
            if (nDims < 1 || nDims > GgufTensorInfo.MAX_DIMS) {
                throw in.error(dimsAt, "tensor \"" + name + "\" has n_dims = " + nDims + ", expected 1.."
                        + GgufTensorInfo.MAX_DIMS);
            }
            // int64_t ne[n_dims]
            long[] ne = new long[(int) nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                long neAt = in.position();
                ne[d] = in.i64("ne[" + d + "] of \"" + name + "\"");
                if (ne[d] < 0) {
                    throw in.error(neAt, "tensor \"" + name + "\" has ne[" + d + "] = " + ne[d] + " < 0");
                }
                long hi = Math.multiplyHigh(elements, ne[d]);
                elements *= ne[d];
                if (hi != 0 || elements < 0) {
                    throw in.error(neAt, "tensor \"" + name + "\" with ne " + java.util.Arrays.toString(ne)
                            + " has more than 2^63-1 elements");
                }
            }
            // ggml_type type
            long typeAt = in.position();
            long typeId = in.u32("type of \"" + name + "\"");
            GgmlType type;
            try {
                type = GgmlType.fromId((int) Math.min(typeId, Integer.MAX_VALUE));
            } catch (InvalidInputException e) {
                throw in.error(typeAt, "tensor \"" + name + "\" has unknown or retired ggml type id " + typeId);
            }
            if (ne[0] % type.blockSize() != 0) {
                throw in.error(typeAt, "tensor \"" + name + "\" of type " + type + " has ne[0] = " + ne[0]
                        + " elements per row, not a multiple of the block size " + type.blockSize());
            }
            if (Math.multiplyHigh(elements / type.blockSize(), type.typeSize()) != 0
                    || (elements / type.blockSize()) * type.typeSize() < 0) {
                throw in.error(typeAt, "tensor \"" + name + "\" with ne " + java.util.Arrays.toString(ne)
                        + " has a byte size over 2^63-1");
            }
            // uint64_t offset
            long offset = in.i64("offset of \"" + name + "\"");
            infos.add(new GgufTensorInfo(name, type, ne, offset));
        }

        // padding to the alignment, then the data section (no padding when there are no tensors, as gguf.cpp)
        long dataOffset = in.position();
        if (nTensors > 0) {
            dataOffset = padded(dataOffset, alignment);
            if (dataOffset > in.size()) {
                throw in.error(in.position(), "data section would start at " + dataOffset
                        + ", past the end of the file (size " + in.size() + "; truncated download?)");
            }
        }

        long expected = 0;
        for (GgufTensorInfo t : infos) {
            if (t.offset() != expected) {
                throw new FormatException(path, dataOffset, "tensor \"" + t.name() + "\" has offset "
                        + Long.toUnsignedString(t.offset()) + ", expected " + expected
                        + " (offsets must start at 0 and follow each previous tensor's size padded to " + alignment + ")");
            }
            long size = t.byteSize();
            if (size > in.size() - dataOffset - t.offset()) {
                throw new FormatException(path, dataOffset + t.offset(), "tensor \"" + t.name() + "\" data ("
                        + size + " bytes at data offset " + t.offset() + ") runs past the end of the file (size "
                        + in.size() + "; truncated download?)");
            }
            expected = padded(t.offset() + size, alignment);
        }
        return new GgufFile(path, contents, owner, (int) version, alignment, metadata.readOnlyCopy(path.toString()), infos, dataOffset);
    }

    private static GgufValueType valueType(LittleEndianCursor in, long id, long at, String key) {
        try {
            return GgufValueType.fromId(id);
        } catch (InvalidInputException e) {
            throw in.error(at, "key '" + key + "' has unknown value type " + id + " (known: 0..12)");
        }
    }

    private static GgufValue readValue(LittleEndianCursor in, GgufValueType type, String key) {
        String what = "value of '" + key + "'";
        return switch (type) {
            case UINT8 -> GgufValue.u8(in.u8(what));
            case INT8 -> GgufValue.i8(in.i8(what));
            case UINT16 -> GgufValue.u16(in.u16(what));
            case INT16 -> GgufValue.i16(in.i16(what));
            case UINT32 -> GgufValue.u32(in.u32(what));
            case INT32 -> GgufValue.i32(in.i32(what));
            case FLOAT32 -> GgufValue.f32(in.f32(what));
            // gguf.cpp reads an int8 and takes != 0 as true
            case BOOL -> GgufValue.bool(in.i8(what) != 0);
            case STRING -> GgufValue.string(in.string(MAX_STRING_LENGTH, what));
            case UINT64 -> GgufValue.u64(in.i64(what));
            case INT64 -> GgufValue.i64(in.i64(what));
            case FLOAT64 -> GgufValue.f64(in.f64(what));
            case ARRAY -> readArray(in, key);
        };
    }

    private static GgufValue readArray(LittleEndianCursor in, String key) {
        // uint32_t elem_type
        long typeAt = in.position();
        GgufValueType elem = valueType(in, in.u32("array element type of '" + key + "'"), typeAt, key);
        if (elem == GgufValueType.ARRAY) {
            throw in.error(typeAt, "key '" + key + "' is an array of arrays, which GGUF does not support");
        }
        // uint64_t n
        long countAt = in.position();
        long n = in.i64("array length of '" + key + "'");
        if (n < 0 || n > MAX_ARRAY_ELEMENTS) {
            throw in.error(countAt, "key '" + key + "': array length " + Long.toUnsignedString(n)
                    + " exceeds the limit of " + MAX_ARRAY_ELEMENTS + " elements (corrupt file?)");
        }
        long minElementBytes = elem == GgufValueType.STRING ? 8 : elem.size();
        if (n > in.remaining() / minElementBytes) {
            throw in.error(countAt, "key '" + key + "': array of " + n + " " + elem + " elements needs at least "
                    + n * minElementBytes + " bytes but only " + in.remaining() + " remain (truncated or corrupt?)");
        }
        int count = (int) n;
        String what = "element of '" + key + "'";
        Object values = switch (elem) {
            case UINT8, INT8 -> in.bytes(count, what);
            case UINT16, INT16 -> {
                short[] a = new short[count];
                for (int i = 0; i < count; i++) {
                    a[i] = in.i16(what);
                }
                yield a;
            }
            case UINT32, INT32 -> {
                int[] a = new int[count];
                for (int i = 0; i < count; i++) {
                    a[i] = in.i32(what);
                }
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[count];
                for (int i = 0; i < count; i++) {
                    a[i] = in.f32(what);
                }
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[count];
                for (int i = 0; i < count; i++) {
                    a[i] = in.i8(what) != 0;
                }
                yield a;
            }
            case STRING -> {
                List<String> a = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    a.add(in.arrayString(MAX_STRING_LENGTH, key, i));
                }
                yield a;
            }
            case UINT64, INT64 -> {
                long[] a = new long[count];
                for (int i = 0; i < count; i++) {
                    a[i] = in.i64(what);
                }
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[count];
                for (int i = 0; i < count; i++) {
                    a[i] = in.f64(what);
                }
                yield a;
            }
            case ARRAY -> throw new IllegalStateException("unreachable");
        };
        return GgufValue.array(elem, values);
    }

    static long padded(long offset, long alignment) {
        return Math.addExact(offset, alignment - 1) / alignment * alignment;
    }

    private static String printable(int magic) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < 4; i++) {
            int c = (magic >>> (8 * i)) & 0xff;
            sb.append(c >= 0x20 && c < 0x7f ? (char) c : '?');
        }
        return sb.append("\" (0x").append(String.format("%08x", magic)).append(')').toString();
    }
}
