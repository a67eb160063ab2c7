package io.falconq.formats.gguf;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.OrderedBlobSink;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a GGUF v3 file in two phases, like gguf-py's {@code GGUFWriter} state machine: {@link #begin} computes
 * every offset from the planned tensors and writes header, key/values, tensor infos and padding; then tensor data
 * is accepted only in the declared order with exactly the declared byte counts, each blob zero-padded to the
 * alignment; {@link #finish()} commits atomically. Closing without finishing deletes the temporary file.
 *
 * <p>Values are written with exactly the type they carry ({@link GgufValue}). Alignment is 32 unless the metadata
 * holds {@code general.alignment} (UINT32 power of two); llama.cpp's tools never write that key.
 */
public final class GgufWriter implements GgufTensorSink {
    /** A tensor to be written: name, type and {@code ne} in GGUF order (innermost first). */
    public record PlannedTensor(String name, GgmlType type, long[] ne) {
        public PlannedTensor {
            ne = ne.clone();
        }

        @Override
        public long[] ne() {
            return ne.clone();
        }

        /** Plans a tensor from PyTorch-order {@code shape} (outermost first), reversing it into {@code ne}. */
        public static PlannedTensor fromShape(String name, GgmlType type, long[] shape) {
            long[] ne = new long[shape.length];
            for (int i = 0; i < shape.length; i++) {
                ne[i] = shape[shape.length - 1 - i];
            }
            return new PlannedTensor(name, type, ne);
        }

        public static PlannedTensor of(GgufTensorInfo info) {
            return new PlannedTensor(info.name(), info.type(), info.ne());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PlannedTensor p && name.equals(p.name) && type == p.type && Arrays.equals(ne, p.ne);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(ne);
        }

        @Override
        public String toString() {
            return name + " " + type + " ne=" + Arrays.toString(ne);
        }
    }

    public static final int VERSION = 3;

    private final OrderedBlobSink sink;
    private final Path target;
    private final List<GgufTensorInfo> layout;
    private final long dataOffset;
    private final int alignment;

    private GgufWriter(Path target, OrderedBlobSink sink, List<GgufTensorInfo> layout, long dataOffset, int alignment) {
        this.target = target;
        this.sink = sink;
        this.layout = layout;
        this.dataOffset = dataOffset;
        this.alignment = alignment;
    }

    /**
     * Validates the plan, computes the layout and writes everything before the data section.
     *
     * @param force overwrite an existing {@code out}
     */
    public static GgufWriter begin(Path out, GgufMetadata metadata, List<PlannedTensor> tensors, boolean force) {
        return begin(out, metadata, tensors, force, tensors.stream().map(PlannedTensor::name).toList());
    }

    /**
     * {@link #begin(Path, GgufMetadata, List, boolean)} for a caller that writes the tensors in {@code writeOrder}
     * (all names, each once) rather than in file order; every tensor still lands at its place in the file, so the
     * bytes do not depend on the order.
     */
    public static GgufWriter begin(Path out, GgufMetadata metadata, List<PlannedTensor> tensors, boolean force,
                                   List<String> writeOrder) {
        int alignment = alignment(metadata);
        List<GgufTensorInfo> layout = layout(tensors, alignment);
        byte[] header = header(metadata, layout);
        long dataOffset = padded(header.length, alignment);
        List<OrderedBlobSink.Blob> blobs = layout.stream().map(t -> new OrderedBlobSink.Blob(t.name(), t.byteSize())).toList();
        OrderedBlobSink sink = OrderedBlobSink.create(out, force, blobs, alignment, writeOrder, ByteBuffer.wrap(header));
        return new GgufWriter(out, sink, layout, dataOffset, alignment);
    }

    /**
     * The size of the file {@link #begin} and the tensors would make, computed without writing anything (dry runs
     * and size predictions use it, so a prediction is the writer's own arithmetic).
     */
    public static long plannedFileSize(GgufMetadata metadata, List<PlannedTensor> tensors) {
        int alignment = alignment(metadata);
        List<GgufTensorInfo> layout = layout(tensors, alignment);
        return fileSize(padded(header(metadata, layout).length, alignment), layout, alignment);
    }

    /** The metadata's alignment; a bad {@code general.alignment} is the caller's error here, not the input's. */
    private static int alignment(GgufMetadata metadata) {
        try {
            return metadata.alignment();
        } catch (InvalidInputException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private static long fileSize(long dataOffset, List<GgufTensorInfo> layout, int alignment) {
        if (layout.isEmpty()) {
            return dataOffset;
        }
        GgufTensorInfo last = layout.getLast();
        return dataOffset + padded(last.offset() + last.byteSize(), alignment);
    }

    /** The tensor infos as written, with their data-section offsets. */
    public List<GgufTensorInfo> layout() {
        return layout;
    }

    /** Absolute file offset of the data section. */
    public long dataOffset() {
        return dataOffset;
    }

    public int alignment() {
        return alignment;
    }

    /** Total size the finished file will have. */
    @Override
    public long fileSize() {
        return fileSize(dataOffset, layout, alignment);
    }

    @Override
    public List<Path> files() {
        return List.of(target);
    }

    /** Writes tensor {@code name} whole; it must be the next declared tensor and exactly its byte size. */
    @Override
    public void write(String name, MemorySegment bytes) {
        sink.write(name, bytes);
    }

    /** Streaming variant: {@code startTensor}, any number of {@link #writeChunk}, {@link #endTensor}. */
    @Override
    public void startTensor(String name) {
        sink.startTensor(name);
    }

    @Override
    public void writeChunk(MemorySegment chunk) {
        sink.writeChunk(chunk);
    }

    @Override
    public void endTensor() {
        sink.endTensor();
    }

    /** Commits the file; every declared tensor must have been written. */
    @Override
    public void finish() {
        sink.finish();
    }

    /** {@link #finish()} in two steps, for {@link GgufSplitWriter}: check that every tensor was written ... */
    void complete() {
        sink.complete();
    }

    /** ... then fsync and rename into place. */
    void commit() {
        sink.commit();
    }

    @Override
    public void close() {
        sink.close();
    }

    // ---- layout and header ------------------------------------------------------------------------------------

    static List<GgufTensorInfo> layout(List<PlannedTensor> tensors, int alignment) {
        List<GgufTensorInfo> layout = new ArrayList<>(tensors.size());
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (PlannedTensor t : tensors) {
            int nameBytes = t.name().getBytes(StandardCharsets.UTF_8).length;
            if (nameBytes == 0 || nameBytes > GgufTensorInfo.MAX_NAME_BYTES) {
                throw new IllegalArgumentException("tensor name \"" + t.name() + "\" is " + nameBytes
                        + " bytes; GGUF allows 1.." + GgufTensorInfo.MAX_NAME_BYTES);
            }
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("duplicate tensor name \"" + t.name() + "\"");
            }
            long[] ne = t.ne();
            if (ne.length < 1 || ne.length > GgufTensorInfo.MAX_DIMS) {
                throw new IllegalArgumentException("tensor \"" + t.name() + "\" has " + ne.length + " dims, GGUF allows 1..4");
            }
            for (long d : ne) {
                if (d < 0) {
                    throw new IllegalArgumentException("tensor \"" + t.name() + "\" has negative ne " + Arrays.toString(ne));
                }
            }
            if (ne[0] % t.type().blockSize() != 0) {
                throw new IllegalArgumentException("tensor \"" + t.name() + "\": ne[0] = " + ne[0]
                        + " is not a multiple of " + t.type() + "'s block size " + t.type().blockSize());
            }
            GgufTensorInfo info = new GgufTensorInfo(t.name(), t.type(), ne, offset);
            offset = padded(Math.addExact(offset, info.byteSize()), alignment);
            layout.add(info);
        }
        return List.copyOf(layout);
    }

    static byte[] header(GgufMetadata metadata, List<GgufTensorInfo> layout) {
        HeaderBuffer h = new HeaderBuffer();
        h.u32(GgufReader.MAGIC);                 // uint32_t magic
        h.u32(VERSION);                          // uint32_t version
        h.u64(layout.size());                    // int64_t n_tensors
        h.u64(metadata.size());                  // int64_t n_kv
        for (Map.Entry<String, GgufValue> kv : metadata.asMap().entrySet()) {
            h.string(kv.getKey());               // gguf_string_t key
            GgufValue v = kv.getValue();
            h.u32(v.type().id());                // uint32_t type
            if (v.isArray()) {
                h.u32(v.elementType().id());     // uint32_t elem_type
                h.u64(v.length());               // uint64_t n
                h.array(v.elementType(), v.rawValue(), kv.getKey());
            } else {
                h.scalar(v.type(), v.rawValue());
            }
        }
        for (GgufTensorInfo t : layout) {
            h.string(t.name());                  // gguf_string_t name
            h.u32(t.nDims());                    // uint32_t n_dims
            for (long d : t.ne()) {
                h.u64(d);                        // int64_t ne[n_dims]
            }
            h.u32(t.type().id());                // ggml_type type
            h.u64(t.offset());                   // uint64_t offset
        }
        return h.toByteArray();
    }

    static long padded(long offset, long alignment) {
        return Math.addExact(offset, alignment - 1) / alignment * alignment;
    }

    /** A growable little-endian byte buffer for the header (the header is small next to tensor data). */
    private static final class HeaderBuffer {
        private byte[] buf = new byte[1 << 16];
        private int size;

        private void ensure(int n) {
            if (buf.length - size < n) {
                long want = Math.max((long) buf.length * 2, (long) size + n);
                if (want > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException("GGUF header over 2 GiB");
                }
                buf = Arrays.copyOf(buf, (int) want);
            }
        }

        void u8(int v) {
            ensure(1);
            buf[size++] = (byte) v;
        }

        void u16(int v) {
            littleEndian(v, 2);
        }

        void u32(long v) {
            littleEndian(v, 4);
        }

        void u64(long v) {
            littleEndian(v, 8);
        }

        private void littleEndian(long v, int bytes) {
            ensure(bytes);
            for (int i = 0; i < bytes; i++) {
                buf[size++] = (byte) (v >>> (8 * i));
            }
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (b.length > GgufReader.MAX_STRING_LENGTH) {
                throw new IllegalArgumentException("GGUF string of " + b.length + " bytes exceeds the 1 GiB limit");
            }
            u64(b.length);
            ensure(b.length);
            System.arraycopy(b, 0, buf, size, b.length);
            size += b.length;
        }

        void scalar(GgufValueType type, Object v) {
            switch (type) {
                case UINT8, UINT16 -> {
                    if (type == GgufValueType.UINT8) {
                        u8((Integer) v);
                    } else {
                        u16((Integer) v);
                    }
                }
                case INT8 -> u8((Byte) v);
                case INT16 -> u16((Short) v);
                case UINT32 -> u32((Long) v);
                case INT32 -> u32((Integer) v);
                case FLOAT32 -> u32(Float.floatToRawIntBits((Float) v));
                case BOOL -> u8((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case UINT64, INT64 -> u64((Long) v);
                case FLOAT64 -> u64(Double.doubleToRawLongBits((Double) v));
                case ARRAY -> throw new IllegalArgumentException("nested arrays are not allowed");
            }
        }

        void array(GgufValueType elem, Object a, String key) {
            long n = a instanceof List<?> l ? l.size() : java.lang.reflect.Array.getLength(a);
            if (n > GgufReader.MAX_ARRAY_ELEMENTS) {
                throw new IllegalArgumentException("key '" + key + "': array of " + n + " elements exceeds the 2^30 limit");
            }
            switch (a) {
                case byte[] b -> {
                    ensure(b.length);
                    System.arraycopy(b, 0, buf, size, b.length);
                    size += b.length;
                }
                case short[] s -> {
                    for (short x : s) {
                        u16(x);
                    }
                }
                case int[] ints -> {
                    for (int x : ints) {
                        u32(x);
                    }
                }
                case float[] f -> {
                    for (float x : f) {
                        u32(Float.floatToRawIntBits(x));
                    }
                }
                case boolean[] z -> {
                    for (boolean x : z) {
                        u8(x ? 1 : 0);
                    }
                }
                case long[] l -> {
                    for (long x : l) {
                        u64(x);
                    }
                }
                case double[] d -> {
                    for (double x : d) {
                        u64(Double.doubleToRawLongBits(x));
                    }
                }
                case List<?> strings -> {
                    for (Object s : strings) {
                        string((String) s);
                    }
                }
                default -> throw new IllegalArgumentException("key '" + key + "': unsupported array " + a.getClass()
                        + " for " + elem);
            }
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, size);
        }
    }
}
