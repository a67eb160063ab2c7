package io.falconq.formats.safetensors;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.MappedFile;
import io.falconq.formats.tensor.TensorSource;
import io.falconq.formats.tensor.TensorView;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An open, validated safetensors file: one read-only mapping of the whole file, with tensors as slices of it
 * (no copies). Opening reads only the header. Close it to unmap; views must not be used afterwards.
 */
public final class SafetensorsFile implements TensorSource {
    private final Path path;
    private final MemorySegment contents;
    private final MappedFile owner;
    private final SafetensorsHeader header;
    private final Map<String, SafetensorsTensorInfo> byName;
    private final List<String> names;

    /** @param owner released by {@link #close()} (the mapping), or null when the caller owns {@code contents} */
    SafetensorsFile(Path path, MemorySegment contents, MappedFile owner, SafetensorsHeader header) {
        this.path = path;
        this.contents = contents;
        this.owner = owner;
        this.header = header;
        this.byName = new LinkedHashMap<>();
        for (SafetensorsTensorInfo t : header.tensors()) {
            byName.put(t.name(), t);
        }
        this.names = List.copyOf(byName.keySet());
    }

    public Path path() {
        return path;
    }

    public SafetensorsHeader header() {
        return header;
    }

    /** {@code "__metadata__"} entries in file order. */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Tensor entries in storage (offset) order. */
    public List<SafetensorsTensorInfo> infos() {
        return header.tensors();
    }

    /** Size of the file in bytes. */
    public long fileSize() {
        return contents.byteSize();
    }

    /** Names in storage (offset) order. */
    @Override
    public List<String> names() {
        return names;
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The header entry for {@code name}, for any dtype. */
    public SafetensorsTensorInfo info(String name) {
        SafetensorsTensorInfo info = byName.get(name);
        if (info == null) {
            throw new InvalidInputException(path() + ": no tensor named \"" + name + "\"");
        }
        return info;
    }

    /** The bytes of tensor {@code name}, for any dtype (a slice of the mapping). */
    public MemorySegment rawBytes(String name) {
        SafetensorsTensorInfo info = info(name);
        return contents.asSlice(header.dataOffset() + info.begin(), info.byteSize());
    }

    @Override
    public Optional<TensorView> find(String name) {
        return byName.containsKey(name) ? Optional.of(view(name)) : Optional.empty();
    }

    /**
     * The tensor as a {@link TensorView}; its shape is the header's (PyTorch order). Fails for dtypes without a
     * ggml equivalent (U8, BOOL, F8_*, ...): use {@link #info} and {@link #rawBytes} for those.
     */
    @Override
    public TensorView view(String name) {
        SafetensorsTensorInfo info = info(name);
        GgmlType type = info.dtype().ggmlType().orElseThrow(() -> new InvalidInputException(path()
                + ": tensor \"" + name + "\" has dtype " + info.dtype() + ", which has no ggml equivalent"
                + " (supported: F32, F16, BF16, F64, I8, I16, I32, I64)"));
        return new TensorView(name, type, info.shape(), rawBytes(name));
    }

    @Override
    public void close() {
        if (owner != null) {
            owner.close();
        }
    }

    @Override
    public String toString() {
        return path() + " (" + names.size() + " tensors)";
    }
}
