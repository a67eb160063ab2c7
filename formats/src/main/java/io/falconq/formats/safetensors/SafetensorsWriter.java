package io.falconq.formats.safetensors;

import io.falconq.formats.io.OrderedBlobSink;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a safetensors file exactly as the reference serializer does ({@code prepare} and {@code serialize_to_file}
 * in huggingface/safetensors {@code safetensors/src/tensor.rs}):
 * <ul>
 *   <li>tensor order: dtype descending in the reference {@code Dtype} order ({@link SafetensorsDtype#sortRank()}),
 *       then name ascending by bytes (Rust {@code String} order);</li>
 *   <li>header: compact serde_json, {@code "__metadata__"} first when present, then the tensors in that order,
 *       each as {@code {"dtype":..,"shape":[..],"data_offsets":[b,e]}}; padded with spaces to a multiple of 8.</li>
 * </ul>
 * The reference keeps {@code __metadata__} in a {@code HashMap}, so its key order is unspecified; this writer keeps
 * the caller's order, which reproduces a file read by {@link SafetensorsReader} byte for byte.
 *
 * <p>Like {@code GgufWriter}, tensor data must then be supplied in {@link #order()} with exact byte counts; the
 * output is atomic.
 */
public final class SafetensorsWriter implements AutoCloseable {
    /** A tensor to be written; {@code shape} in PyTorch order. */
    public record PlannedTensor(String name, SafetensorsDtype dtype, long[] shape) {
        public PlannedTensor {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public static PlannedTensor of(SafetensorsTensorInfo info) {
            return new PlannedTensor(info.name(), info.dtype(), info.shape());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PlannedTensor p && name.equals(p.name) && dtype == p.dtype && Arrays.equals(shape, p.shape);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(shape);
        }
    }

    private static final Comparator<String> RUST_STRING_ORDER = (a, b) -> Arrays.compareUnsigned(
            a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    private final OrderedBlobSink sink;
    private final List<SafetensorsTensorInfo> order;
    private final long headerLength;

    private SafetensorsWriter(OrderedBlobSink sink, List<SafetensorsTensorInfo> order, long headerLength) {
        this.sink = sink;
        this.order = order;
        this.headerLength = headerLength;
    }

    /** Begins a file without a {@code "__metadata__"} block. */
    public static SafetensorsWriter begin(Path out, List<PlannedTensor> tensors, boolean force) {
        return begin(out, null, tensors, force);
    }

    /**
     * Validates the plan, sorts it into the reference order, and writes the length and the header.
     *
     * @param metadata {@code "__metadata__"} entries in the order to write; {@code null} for no block at all
     *                 (an empty map writes {@code "__metadata__":{}})
     */
    public static SafetensorsWriter begin(Path out, Map<String, String> metadata, List<PlannedTensor> tensors, boolean force) {
        return begin(out, metadata, tensors, force, null);
    }

    /**
     * Like {@link #begin(Path, Map, List, boolean)}, but the tensor data will be supplied in {@code writeOrder} (all
     * names, each once) instead of file order; each tensor is written at its place, so the bytes are the same.
     */
    public static SafetensorsWriter begin(Path out, Map<String, String> metadata, List<PlannedTensor> tensors, boolean force,
                                          List<String> writeOrder) {
        List<SafetensorsTensorInfo> order = layout(tensors);
        byte[] header = header(metadata, order);

        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
        List<OrderedBlobSink.Blob> blobs = order.stream().map(t -> new OrderedBlobSink.Blob(t.name(), t.byteSize())).toList();
        List<String> names = writeOrder != null ? writeOrder : order.stream().map(SafetensorsTensorInfo::name).toList();
        OrderedBlobSink sink = OrderedBlobSink.create(out, force, blobs, 1, names, length, ByteBuffer.wrap(header));
        return new SafetensorsWriter(sink, order, header.length);
    }

    /** The size of the file {@link #begin} and the tensors would make, computed without writing anything. */
    public static long plannedFileSize(Map<String, String> metadata, List<PlannedTensor> tensors) {
        List<SafetensorsTensorInfo> order = layout(tensors);
        return 8 + header(metadata, order).length + (order.isEmpty() ? 0 : order.getLast().end());
    }

    /** The tensors in the order their data must be written, with their offsets. */
    public List<SafetensorsTensorInfo> order() {
        return order;
    }

    /** The header length n (JSON plus padding). */
    public long headerLength() {
        return headerLength;
    }

    public long fileSize() {
        return 8 + headerLength + (order.isEmpty() ? 0 : order.getLast().end());
    }

    public void write(String name, MemorySegment bytes) {
        sink.write(name, bytes);
    }

    public void startTensor(String name) {
        sink.startTensor(name);
    }

    public void writeChunk(MemorySegment chunk) {
        sink.writeChunk(chunk);
    }

    public void endTensor() {
        sink.endTensor();
    }

    public void finish() {
        sink.finish();
    }

    @Override
    public void close() {
        sink.close();
    }

    static List<SafetensorsTensorInfo> layout(List<PlannedTensor> tensors) {
        Set<String> names = new HashSet<>();
        for (PlannedTensor t : tensors) {
            if (t.name().equals(SafetensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("a tensor cannot be named " + SafetensorsHeader.METADATA_KEY);
            }
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("duplicate tensor name \"" + t.name() + "\"");
            }
        }
        List<PlannedTensor> sorted = new ArrayList<>(tensors);
        // prepare(): right.dtype().cmp(&left.dtype()).then(lname.cmp(rname))
        sorted.sort(Comparator.comparingInt((PlannedTensor t) -> t.dtype().sortRank()).reversed()
                .thenComparing(PlannedTensor::name, RUST_STRING_ORDER));
        List<SafetensorsTensorInfo> order = new ArrayList<>(sorted.size());
        long offset = 0;
        for (PlannedTensor t : sorted) {
            long elements = 1;
            for (long d : t.shape()) {
                if (d < 0) {
                    throw new IllegalArgumentException("tensor \"" + t.name() + "\" has negative shape " + Arrays.toString(t.shape()));
                }
                elements = Math.multiplyExact(elements, d);
            }
            long bytes = t.dtype().bytesFor(elements);
            if (bytes < 0) {
                throw new IllegalArgumentException("tensor \"" + t.name() + "\": " + elements + " x " + t.dtype()
                        + (bytes == -2 ? " is not a whole number of bytes" : " overflows"));
            }
            order.add(new SafetensorsTensorInfo(t.name(), t.dtype(), t.shape(), offset, Math.addExact(offset, bytes)));
            offset += bytes;
        }
        return List.copyOf(order);
    }

    static byte[] header(Map<String, String> metadata, List<SafetensorsTensorInfo> order) {
        StringBuilder json = new StringBuilder(64 + 96 * order.size());
        json.append('{');
        boolean first = true;
        if (metadata != null) {
            json.append("\"__metadata__\":{");
            boolean firstEntry = true;
            for (Map.Entry<String, String> e : new LinkedHashMap<>(metadata).entrySet()) {
                if (!firstEntry) {
                    json.append(',');
                }
                firstEntry = false;
                JsonString.appendSerde(json, e.getKey());
                json.append(':');
                JsonString.appendSerde(json, e.getValue());
            }
            json.append('}');
            first = false;
        }
        for (SafetensorsTensorInfo t : order) {
            if (!first) {
                json.append(',');
            }
            first = false;
            JsonString.appendSerde(json, t.name());
            json.append(":{\"dtype\":\"").append(t.dtype().name()).append("\",\"shape\":[");
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                if (i > 0) {
                    json.append(',');
                }
                json.append(shape[i]);
            }
            json.append("],\"data_offsets\":[").append(t.begin()).append(',').append(t.end()).append("]}");
        }
        json.append('}');
        byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (int) ((bytes.length + 7L) / 8 * 8);
        if (padded > SafetensorsHeader.MAX_HEADER_LENGTH) {
            throw new IllegalArgumentException("safetensors header of " + padded + " bytes exceeds the "
                    + SafetensorsHeader.MAX_HEADER_LENGTH + "-byte limit readers enforce");
        }
        byte[] out = Arrays.copyOf(bytes, padded);
        Arrays.fill(out, bytes.length, padded, (byte) ' ');
        return out;
    }
}
