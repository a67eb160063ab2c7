package io.falconq.formats.gguf;

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
 * An open, validated GGUF file: header fields, metadata, tensor infos, and tensor views that slice one read-only
 * mapping of the file. View shapes are in PyTorch order (see {@link GgufTensorInfo#shape()}); {@link #info} gives
 * the raw {@code ne}. Close to unmap.
 *
 * <p>A split model ({@link GgufSplit}) opened from its first shard is one {@code GgufFile} too: metadata and header
 * fields are the first shard's (with its {@code split.*} keys, as llama.cpp's loader sees them), tensors are those
 * of every shard in shard order, each viewed in its own shard's mapping; {@link GgufTensorInfo#offset()} is then
 * relative to that shard's data section. {@link #shards()} lists the parts.
 */
public final class GgufFile implements TensorSource {
    private final Path path;
    private final MemorySegment contents;
    /** The mapping {@link #close()} releases, or null when the caller owns {@code contents}. */
    private final MappedFile owner;
    private final int version;
    private final int alignment;
    private final GgufMetadata metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> byName;
    private final long dataOffset;
    /** The shards of a split model (first = this file's header), empty for a single file. */
    private final List<GgufFile> shards;
    private final Map<String, GgufFile> shardOf;

    GgufFile(Path path, MemorySegment contents, MappedFile owner, int version, int alignment, GgufMetadata metadata, List<GgufTensorInfo> tensors,
             long dataOffset) {
        this.path = path;
        this.contents = contents;
        this.owner = owner;
        this.version = version;
        this.alignment = alignment;
        this.metadata = metadata;
        this.tensors = List.copyOf(tensors);
        this.byName = new LinkedHashMap<>();
        for (GgufTensorInfo t : tensors) {
            byName.put(t.name(), t);
        }
        this.dataOffset = dataOffset;
        this.shards = List.of();
        this.shardOf = Map.of();
    }

    /** A split model over its validated {@code shards} (first shard first), which it closes on {@link #close()}. */
    GgufFile(List<GgufFile> shards) {
        GgufFile first = shards.getFirst();
        this.path = first.path;
        this.contents = first.contents;
        this.owner = null;
        this.version = first.version;
        this.alignment = first.alignment;
        this.metadata = first.metadata;
        this.dataOffset = first.dataOffset;
        this.shards = List.copyOf(shards);
        this.byName = new LinkedHashMap<>();
        Map<String, GgufFile> of = new LinkedHashMap<>();
        for (GgufFile shard : shards) {
            for (GgufTensorInfo t : shard.tensors) {
                byName.put(t.name(), t);
                of.put(t.name(), shard);
            }
        }
        this.tensors = List.copyOf(byName.values());
        this.shardOf = of;
    }

    /** The shards of a split model in order (the first is {@link #path()}); a single file lists itself. */
    public List<GgufFile> shards() {
        return shards.isEmpty() ? List.of(this) : shards;
    }

    public Path path() {
        return path;
    }

    /** Bytes on disk: the file's, or for a split model all shards' together. */
    public long fileSize() {
        return shards.isEmpty() ? contents.byteSize() : shards.stream().mapToLong(GgufFile::fileSize).sum();
    }

    /** GGUF version: 2 or 3. */
    public int version() {
        return version;
    }

    /** Data alignment in bytes: {@code general.alignment} or 32. */
    public int alignment() {
        return alignment;
    }

    /** Read-only metadata in file order. */
    public GgufMetadata metadata() {
        return metadata;
    }

    /** Tensor infos in file (and data) order. */
    public List<GgufTensorInfo> tensorInfos() {
        return tensors;
    }

    /** Absolute file offset of the data section (of the first shard, for a split model). */
    public long dataOffset() {
        return dataOffset;
    }

    public GgufTensorInfo info(String name) {
        GgufTensorInfo t = byName.get(name);
        if (t == null) {
            throw new InvalidInputException(path() + ": no tensor named \"" + name + "\"");
        }
        return t;
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** This file's bytes before the data section (of the first shard, for a split model). */
    byte[] headerBytes() {
        return contents.asSlice(0, dataOffset).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    /** The bytes of tensor {@code name} (without padding), a slice of the mapping. */
    public MemorySegment rawBytes(String name) {
        GgufTensorInfo t = info(name);
        if (!shards.isEmpty()) {
            return shardOf.get(name).rawBytes(name);
        }
        return contents.asSlice(dataOffset + t.offset(), t.byteSize());
    }

    /** Names in file order. */
    @Override
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    @Override
    public Optional<TensorView> find(String name) {
        return contains(name) ? Optional.of(view(name)) : Optional.empty();
    }

    /** The tensor with its shape in PyTorch order (reversed {@code ne}, trailing 1s of {@code ne} dropped). */
    @Override
    public TensorView view(String name) {
        GgufTensorInfo t = info(name);
        return new TensorView(name, t.type(), t.shape(), rawBytes(name));
    }

    @Override
    public void close() {
        for (GgufFile shard : shards) {
            shard.close();
        }
        if (owner != null) {
            owner.close();
        }
    }

    @Override
    public String toString() {
        return path() + (shards.isEmpty() ? "" : " (split in " + shards.size() + ")") + " (GGUF v" + version + ", " + metadata.size() + " keys, " + tensors.size() + " tensors)";
    }
}
