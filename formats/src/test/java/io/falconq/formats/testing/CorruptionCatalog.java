package io.falconq.formats.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Hand-made corrupt inputs, one enum constant per rule a reader enforces, each with the message fragment the
 * resulting {@code InvalidInputException} must contain (modelled on llama.cpp's {@code test-gguf.cpp} and gguf-py's
 * {@code test_gguf_reader_validation.py}). Public so the cross-module tests can run the same catalogue through the
 * CLI.
 *
 * <p>The valid base files are encoded here byte by byte, independently of falconq's writers:
 * {@link #validSafetensors()}, {@link #validGguf()} and {@link #writeValidShardedCheckpoint(Path)}. The
 * {@code apply} methods locate the fields they break by walking the given file, so they work on any valid file of
 * the same shape (at least two tensors; for GGUF at least two KVs, one of them an array, and a block-quantized
 * tensor second).
 */
public final class CorruptionCatalog {
    private CorruptionCatalog() {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A corruption of a valid file's bytes, and a fragment the reader's error message must contain. */
    public interface ByteCorruption {
        Edit edit();

        String name();

        /** A corrupt copy of {@code validFile} (a valid file of the kind the enum's catalogue describes). */
        default byte[] apply(byte[] validFile) {
            return edit().corruption().apply(validFile.clone());
        }

        default String expectedMessageFragment() {
            return edit().expectedMessageFragment();
        }
    }

    /** What a {@link ByteCorruption} does to the bytes (given a copy it may change), and what the reader must say. */
    public record Edit(String expectedMessageFragment, UnaryOperator<byte[]> corruption) {
    }

    // =================================================================================================================
    // safetensors
    // =================================================================================================================

    /**
     * A valid safetensors file in the reference writer's layout: {@code __metadata__ {"format":"pt"}}, then
     * {@code c.ids} I64 [2], {@code a.weight} F32 [2, 3], {@code b.bias} BF16 [4] (descending dtype order), data bytes
     * 1, 2, 3, ...
     */
    public static byte[] validSafetensors() {
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"c.ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[16,40]},"
                + "\"b.bias\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[40,48]}}";
        byte[] data = new byte[48];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i + 1);
        }
        return safetensorsWithHeader(json.getBytes(StandardCharsets.UTF_8), data);
    }

    /** Corruptions of a valid safetensors file with at least three tensors. */
    public enum SafetensorsCorruption implements ByteCorruption {
        TOO_SHORT("too short for the 8-byte header length", f -> Arrays.copyOf(f, 5)),
        EMPTY_FILE("too short for the 8-byte header length", f -> new byte[0]),
        HEADER_LENGTH_PAST_EOF("runs past the end of the file", f -> putU64(f, 0, f.length)),
        HEADER_TOO_LARGE("exceeds the 100000000-byte limit", f -> putU64(f, 0, 100_000_001L)),
        HEADER_LENGTH_HUGE_U64("exceeds the 100000000-byte limit", f -> putU64(f, 0, -1L)),
        HEADER_EMPTY("does not start with '{'", f -> putU64(f, 0, 0)),
        NOT_JSON("is not valid JSON", f -> replaceHeaderText(f, "{not json at all}")),
        JSON_ARRAY("does not start with '{'", f -> replaceHeaderText(f, "[1,2,3]")),
        JSON_TRAILING_GARBAGE("is not valid JSON", f -> replaceHeaderText(f, headerText(f).strip() + "{}")),
        INVALID_UTF8("is not valid UTF-8", f -> {
            int firstQuote = 8;
            while (f[firstQuote] != '"') {
                firstQuote++;
            }
            f[firstQuote + 1] = (byte) 0xff; // first character of the first key
            return f;
        }),
        DUPLICATE_KEY("duplicate key", f -> {
            String h = headerText(f).strip();
            ObjectNode root = header(f);
            String first = firstTensor(root);
            String entry = "\"" + first + "\":" + root.get(first);
            return replaceHeaderText(f, h.substring(0, h.length() - 1) + "," + entry + "}");
        }),
        METADATA_NOT_STRINGS("expected a string", f -> editHeader(f, r -> ((ObjectNode) r.get("__metadata__")).put("format", 1))),
        ENTRY_NOT_OBJECT("expected an object", f -> editHeader(f, r -> r.put(firstTensor(r), "oops"))),
        MISSING_DTYPE("missing \"dtype\"", f -> editHeader(f, r -> tensor(r, 0).remove("dtype"))),
        MISSING_SHAPE("missing \"shape\"", f -> editHeader(f, r -> tensor(r, 0).remove("shape"))),
        MISSING_DATA_OFFSETS("missing \"data_offsets\"", f -> editHeader(f, r -> tensor(r, 0).remove("data_offsets"))),
        UNKNOWN_DTYPE("unknown dtype \"Q4\"", f -> editHeader(f, r -> tensor(r, 0).put("dtype", "Q4"))),
        DATA_OFFSETS_WRONG_ARITY("expected [begin, end]", f -> editHeader(f, r -> ((ArrayNode) tensor(r, 0).get("data_offsets")).remove(1))),
        FRACTIONAL_SHAPE("expected a non-negative integer", f -> editHeader(f, r -> ((ArrayNode) tensor(r, 0).get("shape")).set(0, 2.5))),
        NEGATIVE_SHAPE("is negative", f -> editHeader(f, r -> ((ArrayNode) tensor(r, 0).get("shape")).set(0, -2))),
        NEGATIVE_OFFSET("is negative", f -> editHeader(f, r -> ((ArrayNode) tensor(r, 1).get("data_offsets")).set(0, -16))),
        OVERFLOW_SHAPE("overflows 64-bit", f -> editHeader(f, r -> {
            ArrayNode shape = (ArrayNode) tensor(r, 0).get("shape");
            shape.removeAll();
            shape.add(1L << 40).add(1L << 40);
        })),
        HUGE_OFFSET("overflows 64-bit arithmetic", f -> editHeader(f, r -> ((ArrayNode) tensor(r, 1).get("data_offsets"))
                .set(1, new java.math.BigInteger("18446744073709551615")))),
        SHAPE_TIMES_DTYPE_MISMATCH("bytes but data_offsets", f -> editHeader(f, r -> {
            ArrayNode shape = (ArrayNode) tensor(r, 0).get("shape");
            shape.set(0, shape.get(0).asLong() + 1);
        })),
        GAP_BETWEEN_OFFSETS("a gap of 8 bytes", f -> editHeader(f, r -> shiftOffsets(tensor(r, 1), 8))),
        OVERLAPPING_OFFSETS("overlapping the previous tensor", f -> editHeader(f, r -> shiftOffsets(tensor(r, 1), -8))),
        FIRST_OFFSET_NOT_ZERO("should start at 0", f -> editHeader(f, r -> {
            for (int i = 0; i < tensorCount(r); i++) {
                shiftOffsets(tensor(r, i), 8);
            }
        })),
        END_BEFORE_BEGIN("end before they begin", f -> editHeader(f, r -> {
            ArrayNode last = (ArrayNode) tensor(r, tensorCount(r) - 1).get("data_offsets");
            last.set(1, last.get(0).asLong() - 1);
        })),
        TRAILING_BYTES("trailing bytes", f -> Arrays.copyOf(f, f.length + 3)),
        TRUNCATED_DATA("truncated download", f -> Arrays.copyOf(f, f.length - 1));

        private final Edit edit;

        SafetensorsCorruption(String expectedMessageFragment, UnaryOperator<byte[]> corruption) {
            edit = new Edit(expectedMessageFragment, corruption);
        }

        @Override
        public Edit edit() {
            return edit;
        }
    }

    // ---- safetensors helpers ----------------------------------------------------------------------------------------

    private static long headerLength(byte[] f) {
        return ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    private static String headerText(byte[] f) {
        return new String(f, 8, (int) headerLength(f), StandardCharsets.UTF_8);
    }

    private static byte[] dataSection(byte[] f) {
        return Arrays.copyOfRange(f, 8 + (int) headerLength(f), f.length);
    }

    /** 8-byte length + header padded with spaces to a multiple of 8 + data. */
    private static byte[] safetensorsWithHeader(byte[] json, byte[] data) {
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded).put(json);
        for (int i = json.length; i < padded; i++) {
            b.put((byte) ' ');
        }
        b.put(data);
        return b.array();
    }

    private static byte[] replaceHeaderText(byte[] f, String json) {
        return safetensorsWithHeader(json.getBytes(StandardCharsets.UTF_8), dataSection(f));
    }

    private static ObjectNode header(byte[] f) {
        try {
            return (ObjectNode) JSON.readTree(headerText(f));
        } catch (IOException e) {
            throw new IllegalArgumentException("not a valid safetensors base file", e);
        }
    }

    private static byte[] editHeader(byte[] f, java.util.function.Consumer<ObjectNode> edit) {
        ObjectNode root = header(f);
        edit.accept(root);
        return replaceHeaderText(f, root.toString());
    }

    private static List<String> tensorNamesByOffset(ObjectNode root) {
        List<String> names = new ArrayList<>();
        root.fieldNames().forEachRemaining(n -> {
            if (!n.equals("__metadata__")) {
                names.add(n);
            }
        });
        names.sort(Comparator.comparingLong(n -> root.get(n).get("data_offsets").get(0).asLong()));
        return names;
    }

    private static int tensorCount(ObjectNode root) {
        return tensorNamesByOffset(root).size();
    }

    private static String firstTensor(ObjectNode root) {
        return tensorNamesByOffset(root).getFirst();
    }

    /** The i-th tensor entry in data order. */
    private static ObjectNode tensor(ObjectNode root, int i) {
        return (ObjectNode) root.get(tensorNamesByOffset(root).get(i));
    }

    private static void shiftOffsets(ObjectNode entry, long by) {
        ArrayNode o = (ArrayNode) entry.get("data_offsets");
        o.set(0, o.get(0).asLong() + by);
        o.set(1, o.get(1).asLong() + by);
    }

    // =================================================================================================================
    // GGUF
    // =================================================================================================================

    /**
     * A valid GGUF v3 file: KVs {@code general.architecture} = "test" (STRING), {@code test.block_count} = 2
     * (UINT32), {@code tokenizer.ggml.tokens} = ["a", "bc"] (ARRAY of STRING), {@code test.eps} = 1e-5 (FLOAT32);
     * tensors {@code w.f32} F32 ne [3, 2] at 0 and {@code w.q8} Q8_0 ne [32, 2] at 32; alignment 32.
     */
    public static byte[] validGguf() {
        Le h = new Le();
        h.u32(0x46554747).u32(3).u64(2).u64(4);
        h.str("general.architecture").u32(8).str("test");
        h.str("test.block_count").u32(4).u32(2);
        h.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(2).str("a").str("bc");
        h.str("test.eps").u32(6).u32(Float.floatToRawIntBits(1e-5f));
        h.str("w.f32").u32(2).u64(3).u64(2).u32(0).u64(0);
        h.str("w.q8").u32(2).u64(32).u64(2).u32(8).u64(32);
        h.padTo(32);
        for (int i = 0; i < 6; i++) {
            h.u32(Float.floatToRawIntBits(i + 0.5f));
        }
        h.padTo(32);
        for (int row = 0; row < 2; row++) {
            h.u16(0x3c00); // fp16 scale 1.0
            for (int i = 0; i < 32; i++) {
                h.u8(i - 16);
            }
        }
        h.padTo(32);
        return h.toByteArray();
    }

    /** Corruptions of a valid little-endian GGUF shaped like {@link #validGguf()}. */
    public enum GgufCorruption implements ByteCorruption {
        TOO_SHORT("too short for the GGUF magic", f -> Arrays.copyOf(f, 3)),
        BAD_MAGIC("bad magic", f -> {
            f[3] = 'X';
            return f;
        }),
        VERSION_0("bad GGUF version 0", f -> putU32(f, 4, 0)),
        VERSION_1("version 1 is no longer supported", f -> putU32(f, 4, 1)),
        VERSION_4("newer than the supported version", f -> putU32(f, 4, 4)),
        BYTE_SWAPPED("byte-swapped", f -> putU32(f, 4, 0x03000000)),
        TRUNCATED_HEADER("truncated", f -> Arrays.copyOf(f, 12)),
        N_TENSORS_HUGE("n_tensors = ", f -> putU64(f, 8, 1L << 62)),
        N_TENSORS_NEGATIVE("n_tensors = -1", f -> putU64(f, 8, -1)),
        N_KV_HUGE("n_kv = ", f -> putU64(f, 16, 1L << 40)),
        KEY_LENGTH_HUGE("exceeds the limit", f -> putU64(f, scan(f).kvs.get(0).keyOffset, 1L << 40)),
        KEY_LENGTH_PAST_EOF("runs past the end of the file", f -> putU64(f, scan(f).kvs.get(0).keyOffset, f.length)),
        STRING_VALUE_LENGTH_HUGE("exceeds the limit", f -> putU64(f, kvOfType(f, 8).valueOffset, (1L << 30) + 1)),
        EMPTY_KEY("is empty", f -> {
            Kv kv = scan(f).kvs.get(0);
            return splice(f, kv.keyOffset, kv.typeOffset, new Le().u64(0).toByteArray());
        }),
        DUPLICATE_KEY("duplicate key", f -> {
            Scan s = scan(f);
            Kv second = s.kvs.get(1);
            return splice(f, second.keyOffset, second.typeOffset, new Le().str(s.kvs.get(0).key).toByteArray());
        }),
        UNKNOWN_VALUE_TYPE("unknown value type 13", f -> putU32(f, scan(f).kvs.get(0).typeOffset, 13)),
        NESTED_ARRAY("array of arrays", f -> putU32(f, kvOfType(f, 9).valueOffset, 9)),
        ARRAY_ELEMENT_TYPE_UNKNOWN("unknown value type 99", f -> putU32(f, kvOfType(f, 9).valueOffset, 99)),
        ARRAY_COUNT_HUGE("exceeds the limit of 1073741824 elements", f -> putU64(f, kvOfType(f, 9).valueOffset + 4, 1L << 31)),
        ARRAY_COUNT_PAST_EOF("remain", f -> putU64(f, kvOfType(f, 9).valueOffset + 4, 1L << 29)),
        // the tokens array is [STRING; "a", "bc"]: element 1's length follows the type, the count and "a"
        ARRAY_STRING_LENGTH_HUGE("element 1 of 'tokenizer.ggml.tokens': string length 1073741825 exceeds the limit",
                f -> putU64(f, kvOfType(f, 9).valueOffset + 4 + 8 + 9, (1L << 30) + 1)),
        ARRAY_STRING_PAST_EOF("element 1 of 'tokenizer.ggml.tokens': string length 1000 runs past the end of the file",
                f -> putU64(f, kvOfType(f, 9).valueOffset + 4 + 8 + 9, 1000)),
        ALIGNMENT_NOT_POWER_OF_TWO("is not a power of two", f -> addKv(f, new Le().str("general.alignment").u32(4).u32(48))),
        ALIGNMENT_ZERO("is not a power of two", f -> addKv(f, new Le().str("general.alignment").u32(4).u32(0))),
        ALIGNMENT_WRONG_TYPE("must be UINT32", f -> addKv(f, new Le().str("general.alignment").u32(5).u32(32))),
        TENSOR_NAME_64_BYTES("over the 63-byte limit", f -> {
            TensorRec t = scan(f).tensors.get(0);
            return splice(f, t.nameOffset, t.nDimsOffset, new Le().str("x".repeat(64)).toByteArray());
        }),
        DUPLICATE_TENSOR_NAME("duplicate tensor name", f -> {
            Scan s = scan(f);
            TensorRec second = s.tensors.get(1);
            return splice(f, second.nameOffset, second.nDimsOffset, new Le().str(s.tensors.get(0).name).toByteArray());
        }),
        N_DIMS_0("n_dims = 0", f -> putU32(f, scan(f).tensors.get(0).nDimsOffset, 0)),
        N_DIMS_5("n_dims = 5", f -> putU32(f, scan(f).tensors.get(0).nDimsOffset, 5)),
        NEGATIVE_NE("< 0", f -> putU64(f, scan(f).tensors.get(0).neOffset, -3)),
        NE_PRODUCT_OVERFLOW("more than 2^63-1 elements", f -> {
            int ne = scan(f).tensors.get(0).neOffset;
            putU64(f, ne, 1L << 40);
            return putU64(f, ne + 8, 1L << 40);
        }),
        UNKNOWN_GGML_TYPE("unknown or retired ggml type id 4", f -> putU32(f, scan(f).tensors.get(0).typeOffset, 4)),
        GGML_TYPE_OUT_OF_RANGE("unknown or retired ggml type id 1000", f -> putU32(f, scan(f).tensors.get(0).typeOffset, 1000)),
        NE0_NOT_BLOCK_MULTIPLE("not a multiple of the block size", f -> {
            TensorRec q = blockQuantized(f);
            return putU64(f, q.neOffset, q.ne[0] + 1);
        }),
        FIRST_OFFSET_NOT_ZERO("expected 0", f -> putU64(f, scan(f).tensors.get(0).offsetOffset, 32)),
        OFFSET_MISALIGNED("has offset", f -> {
            TensorRec t = scan(f).tensors.get(1);
            return putU64(f, t.offsetOffset, t.offset + 1);
        }),
        OFFSET_GAP("has offset", f -> {
            TensorRec t = scan(f).tensors.get(1);
            return putU64(f, t.offsetOffset, t.offset + 32);
        }),
        DATA_PAST_EOF("runs past the end of the file", f -> {
            Scan s = scan(f);
            TensorRec last = s.tensors.getLast();
            return Arrays.copyOf(f, (int) (s.dataOffset + last.offset + last.byteSize - 1));
        }),
        DATA_SECTION_PAST_EOF("past the end of the file", f -> Arrays.copyOf(f, (int) scan(f).infosEnd));

        private final Edit edit;

        GgufCorruption(String expectedMessageFragment, UnaryOperator<byte[]> corruption) {
            edit = new Edit(expectedMessageFragment, corruption);
        }

        @Override
        public Edit edit() {
            return edit;
        }
    }

    // ---- GGUF helpers: a minimal walk of a *valid* file recording where each field sits -----------------------------

    private record Kv(String key, int type, int keyOffset, int typeOffset, int valueOffset, int end) {
    }

    private record TensorRec(String name, long[] ne, int type, long offset, long byteSize,
                             int nameOffset, int nDimsOffset, int neOffset, int typeOffset, int offsetOffset) {
    }

    private record Scan(List<Kv> kvs, List<TensorRec> tensors, long infosEnd, long dataOffset) {
    }

    /** Block size and bytes per block of the ggml types the catalogue's files use. */
    private static final Map<Integer, int[]> TYPE_LAYOUT = Map.of(0, new int[] {1, 4}, 1, new int[] {1, 2},
            8, new int[] {32, 34}, 30, new int[] {1, 2}, 12, new int[] {256, 144});

    private static Scan scan(byte[] f) {
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        b.position(8);
        long nTensors = b.getLong();
        long nKv = b.getLong();
        List<Kv> kvs = new ArrayList<>();
        int alignment = 32;
        for (long i = 0; i < nKv; i++) {
            int keyOffset = b.position();
            String key = readStr(b);
            int typeOffset = b.position();
            int type = b.getInt();
            int valueOffset = b.position();
            skipValue(b, type);
            kvs.add(new Kv(key, type, keyOffset, typeOffset, valueOffset, b.position()));
            if (key.equals("general.alignment") && type == 4) {
                alignment = b.getInt(valueOffset);
            }
        }
        List<TensorRec> tensors = new ArrayList<>();
        for (long i = 0; i < nTensors; i++) {
            int nameOffset = b.position();
            String name = readStr(b);
            int nDimsOffset = b.position();
            int nDims = b.getInt();
            int neOffset = b.position();
            long[] ne = new long[nDims];
            long n = 1;
            for (int d = 0; d < nDims; d++) {
                ne[d] = b.getLong();
                n *= ne[d];
            }
            int typeOffset = b.position();
            int type = b.getInt();
            int offsetOffset = b.position();
            long offset = b.getLong();
            int[] layout = TYPE_LAYOUT.get(type);
            if (layout == null) {
                throw new IllegalArgumentException("catalogue base file uses ggml type " + type + ", not in " + TYPE_LAYOUT.keySet());
            }
            tensors.add(new TensorRec(name, ne, type, offset, n / layout[0] * layout[1], nameOffset, nDimsOffset, neOffset,
                    typeOffset, offsetOffset));
        }
        long infosEnd = b.position();
        long dataOffset = (infosEnd + alignment - 1) / alignment * alignment;
        return new Scan(kvs, tensors, infosEnd, dataOffset);
    }

    private static String readStr(ByteBuffer b) {
        int len = (int) b.getLong();
        byte[] s = new byte[len];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static void skipValue(ByteBuffer b, int type) {
        switch (type) {
            case 0, 1, 7 -> b.position(b.position() + 1);
            case 2, 3 -> b.position(b.position() + 2);
            case 4, 5, 6 -> b.position(b.position() + 4);
            case 10, 11, 12 -> b.position(b.position() + 8);
            case 8 -> readStr(b);
            case 9 -> {
                int elem = b.getInt();
                long n = b.getLong();
                for (long i = 0; i < n; i++) {
                    skipValue(b, elem);
                }
            }
            default -> throw new IllegalArgumentException("catalogue base file has value type " + type);
        }
    }

    private static Kv kvOfType(byte[] f, int type) {
        return scan(f).kvs.stream().filter(kv -> kv.type == type).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("base file has no KV of type " + type));
    }

    private static TensorRec blockQuantized(byte[] f) {
        return scan(f).tensors.stream().filter(t -> TYPE_LAYOUT.get(t.type)[0] > 1).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("base file has no block-quantized tensor"));
    }

    /** Inserts an extra KV record before the tensor infos and bumps n_kv; later bytes shift, which is fine as the
     * reader fails at the alignment check before using them. */
    private static byte[] addKv(byte[] f, Le kv) {
        Scan s = scan(f);
        int at = s.kvs.getLast().end;
        byte[] out = splice(f, at, at, kv.toByteArray());
        return putU64(out, 16, s.kvs.size() + 1);
    }

    // =================================================================================================================
    // sharded Hugging Face checkpoints
    // =================================================================================================================

    /**
     * Writes a valid two-shard checkpoint into {@code dir}: {@code config.json}, {@code model-00001-of-00002.safetensors}
     * ({@code a.weight} F32 [2], {@code b.weight} F32 [2]), {@code model-00002-of-00002.safetensors}
     * ({@code c.weight} F32 [2]) and {@code model.safetensors.index.json}.
     */
    public static void writeValidShardedCheckpoint(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), "{\"model_type\":\"falcon_h1\"}");
            Files.write(dir.resolve(SHARD1), shard("a.weight", "b.weight"));
            Files.write(dir.resolve(SHARD2), shard("c.weight"));
            writeIndex(dir, Map.of("a.weight", SHARD1, "b.weight", SHARD1, "c.weight", SHARD2));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    private static byte[] shard(String... names) {
        StringBuilder json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        for (int i = 0; i < names.length; i++) {
            json.append(",\"").append(names[i]).append("\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[")
                    .append(8 * i).append(',').append(8 * i + 8).append("]}");
        }
        json.append('}');
        byte[] data = new byte[8 * names.length];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (names[i / 8].hashCode() + i);
        }
        return safetensorsWithHeader(json.toString().getBytes(StandardCharsets.UTF_8), data);
    }

    private static void writeIndex(Path dir, Map<String, String> weightMap) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("metadata").put("total_size", 24);
        ObjectNode map = root.putObject("weight_map");
        weightMap.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> map.put(e.getKey(), e.getValue()));
        Files.writeString(dir.resolve("model.safetensors.index.json"), root.toPrettyString());
    }

    private static void editIndex(Path dir, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        ObjectNode root = (ObjectNode) JSON.readTree(index.toFile());
        edit.accept((ObjectNode) root.get("weight_map"));
        Files.writeString(index, root.toPrettyString());
    }

    public enum CheckpointCorruption {
        SHARD_WITH_PARENT_PATH("contains a path separator", dir -> editIndex(dir, m -> m.put("c.weight", "../" + SHARD2))),
        SHARD_ABSOLUTE_PATH("contains a path separator", dir -> editIndex(dir, m -> m.put("c.weight", dir.resolve(SHARD2).toAbsolutePath().toString()))),
        SHARD_DOT_DOT("is a directory reference", dir -> editIndex(dir, m -> m.put("c.weight", ".."))),
        SHARD_BACKSLASH("contains a path separator", dir -> editIndex(dir, m -> m.put("c.weight", "..\\" + SHARD2))),
        SHARD_LINK_TO_FOLDER("is a directory", dir -> {
            Path outside = dir.resolveSibling(dir.getFileName() + "-outside");
            Files.createDirectories(outside);
            Files.delete(dir.resolve(SHARD2));
            Files.createSymbolicLink(dir.resolve(SHARD2), outside);
        }),
        MISSING_SHARD("does not exist", dir -> Files.delete(dir.resolve(SHARD2))),
        TENSOR_MISSING_FROM_SHARD("which does not contain it", dir -> editIndex(dir, m -> m.put("d.weight", SHARD2))),
        TENSOR_IN_WRONG_SHARD("which does not contain it", dir -> editIndex(dir, m -> m.put("c.weight", SHARD1))),
        SHARD_TENSOR_NOT_INDEXED("missing from weight_map", dir -> editIndex(dir, m -> m.remove("b.weight"))),
        TENSOR_IN_TWO_SHARDS("appears in two shards", dir -> Files.write(dir.resolve(SHARD2), shard("a.weight", "c.weight"))),
        INDEX_NOT_JSON("is not valid JSON", dir -> Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": ")),
        INDEX_WITHOUT_WEIGHT_MAP("missing \"weight_map\"", dir -> Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\":{}}")),
        INDEX_DUPLICATE_KEY("duplicate key", dir -> Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"a.weight\":\"" + SHARD1 + "\",\"a.weight\":\"" + SHARD1 + "\"}}")),
        CORRUPT_SHARD("runs past the end of the file", dir -> {
            byte[] f = Files.readAllBytes(dir.resolve(SHARD2));
            Files.write(dir.resolve(SHARD2), putU64(f, 0, f.length));
        }),
        CONFIG_NOT_JSON("is not valid JSON", dir -> Files.writeString(dir.resolve("config.json"), "{model_type: falcon_h1}")),
        NO_WEIGHTS("no model.safetensors or model.safetensors.index.json", dir -> Files.delete(dir.resolve("model.safetensors.index.json")));

        private interface DirEdit {
            void apply(Path dir) throws IOException;
        }

        private final String expectedMessageFragment;
        private final DirEdit edit;

        CheckpointCorruption(String expectedMessageFragment, DirEdit edit) {
            this.expectedMessageFragment = expectedMessageFragment;
            this.edit = edit;
        }

        /**
         * Writes a valid sharded checkpoint into {@code dir} (which should not exist or be empty) and corrupts it;
         * opening {@code dir} must then fail. May create a sibling folder {@code <dir>-outside}.
         */
        public Path apply(Path dir) {
            writeValidShardedCheckpoint(dir);
            try {
                edit.apply(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return dir;
        }

        public String expectedMessageFragment() {
            return expectedMessageFragment;
        }
    }

    // =================================================================================================================
    // byte helpers
    // =================================================================================================================

    private static byte[] putU32(byte[] f, int at, long v) {
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putInt(at, (int) v);
        return f;
    }

    private static byte[] putU64(byte[] f, int at, long v) {
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
        return f;
    }

    private static byte[] splice(byte[] f, int from, int to, byte[] replacement) {
        byte[] out = new byte[f.length - (to - from) + replacement.length];
        System.arraycopy(f, 0, out, 0, from);
        System.arraycopy(replacement, 0, out, from, replacement.length);
        System.arraycopy(f, to, out, from + replacement.length, f.length - to);
        return out;
    }

    /** A little-endian byte builder for hand-encoding files. */
    private static final class Le {
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

        Le u8(int v) {
            out.write(v);
            return this;
        }

        Le u16(int v) {
            return u8(v).u8(v >>> 8);
        }

        Le u32(long v) {
            for (int i = 0; i < 4; i++) {
                out.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        Le u64(long v) {
            for (int i = 0; i < 8; i++) {
                out.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        Le str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            out.writeBytes(b);
            return this;
        }

        Le padTo(int alignment) {
            while (out.size() % alignment != 0) {
                out.write(0);
            }
            return this;
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }
}
