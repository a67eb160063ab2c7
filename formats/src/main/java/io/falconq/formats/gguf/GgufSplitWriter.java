package io.falconq.formats.gguf;

import io.falconq.formats.gguf.GgufWriter.PlannedTensor;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.OutputException;
import io.falconq.formats.io.Sha256;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Writes a split GGUF ({@link GgufSplit}): one {@link GgufWriter} per shard, all begun before any data, tensors
 * routed to their shard's writer in the caller's write order. All shards appear or none: {@link #finish()} first
 * checks every shard is complete, then fsyncs and renames them, the first shard (the one a reader opens) last;
 * should a rename fail, the shards already renamed are deleted again. The bytes depend only on the plan.
 */
public final class GgufSplitWriter implements GgufTensorSink {
    private final List<GgufWriter> shards;
    private final List<Path> files;
    private final Map<String, GgufWriter> writerOf;
    /** Shards of an earlier split of the same name (another count), replaced with --force: deleted after the commit. */
    private final List<Path> strays;
    private GgufWriter current;

    private GgufSplitWriter(List<GgufWriter> shards, List<Path> files, Map<String, GgufWriter> writerOf,
                            List<Path> strays) {
        this.shards = shards;
        this.files = files;
        this.writerOf = writerOf;
        this.strays = strays;
    }

    /** The shard paths {@code rule} makes of {@code output} (see {@link GgufSplit#prefixOf(Path)}). */
    public static List<Path> plannedFiles(Path output, List<PlannedTensor> tensors, GgufSplit.Rule rule) {
        int n = GgufSplit.plan(tensors, rule).size();
        Path prefix = GgufSplit.prefixOf(output);
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            paths.add(GgufSplit.shardPath(prefix, i, n));
        }
        return paths;
    }

    /**
     * Plans the shards, refuses any existing shard path (without {@code force}) before creating anything, and
     * writes every shard's header.
     *
     * @param output     {@code dir/name.gguf} or {@code dir/name}: shards are {@code dir/name-00001-of-0000N.gguf}
     * @param writeOrder all tensor names, each once, in the order the caller writes them
     */
    public static GgufSplitWriter begin(Path output, GgufMetadata metadata, List<PlannedTensor> tensors,
                                        GgufSplit.Rule rule, boolean force, List<String> writeOrder) {
        if (metadata.alignment() != GgufMetadata.DEFAULT_ALIGNMENT) {
            throw new IllegalArgumentException("split GGUFs use the default alignment (llama-gguf-split pads to 32), "
                    + "the metadata sets " + metadata.alignment());
        }
        List<List<PlannedTensor>> plan = GgufSplit.plan(tensors, rule);
        List<Path> files = plannedFiles(output, tensors, rule);
        for (Path f : files) {
            AtomicOutput.checkOverwrite(f, force);
        }
        List<Path> strays = strays(files);
        if (!strays.isEmpty() && !force) {
            throw new OutputException(strays.getFirst() + ": a shard of another split of the same name exists; readers "
                    + "would refuse the new split beside it (use --force to replace it)");
        }
        int n = plan.size();
        List<GgufMetadata> metas = shardMetadata(metadata, plan, tensors.size());
        List<GgufWriter> writers = new ArrayList<>();
        Map<String, GgufWriter> writerOf = new HashMap<>();
        try {
            for (int i = 0; i < n; i++) {
                Set<String> names = plan.get(i).stream().map(PlannedTensor::name).collect(Collectors.toSet());
                GgufWriter w = GgufWriter.begin(files.get(i), metas.get(i), plan.get(i), force,
                        writeOrder.stream().filter(names::contains).toList());
                writers.add(w);
                names.forEach(name -> writerOf.put(name, w));
            }
        } catch (RuntimeException e) {
            writers.forEach(GgufWriter::close);
            throw e;
        }
        if (writerOf.size() != writeOrder.size()) {
            writers.forEach(GgufWriter::close);
            throw new IllegalArgumentException("write order has " + writeOrder.size() + " names for " + writerOf.size()
                    + " tensors");
        }
        return new GgufSplitWriter(List.copyOf(writers), List.copyOf(files), writerOf, strays);
    }

    /**
     * The total size of the shards {@link #begin} and the tensors would make, computed without writing anything
     * (the split counterpart of {@link GgufWriter#plannedFileSize}).
     */
    public static long plannedFileSize(GgufMetadata metadata, List<PlannedTensor> tensors, GgufSplit.Rule rule) {
        List<List<PlannedTensor>> plan = GgufSplit.plan(tensors, rule);
        List<GgufMetadata> metas = shardMetadata(metadata, plan, tensors.size());
        long bytes = 0;
        for (int i = 0; i < plan.size(); i++) {
            bytes += GgufWriter.plannedFileSize(metas.get(i), plan.get(i));
        }
        return bytes;
    }

    /** Each shard's metadata: the first carries {@code metadata}, the others the split keys and the first's hash. */
    private static List<GgufMetadata> shardMetadata(GgufMetadata metadata, List<List<PlannedTensor>> plan,
                                                    int tensorCount) {
        int n = plan.size();
        List<GgufMetadata> metas = new ArrayList<>();
        GgufMetadata first = GgufSplit.withoutSplitKeys(metadata);
        splitKeys(first, 0, n, tensorCount);
        metas.add(first);
        String firstHeader = headerSha256(first, plan.getFirst());
        for (int i = 1; i < n; i++) {
            GgufMetadata m = new GgufMetadata();
            splitKeys(m, i, n, tensorCount);
            m.putString(GgufSplit.FIRST_HEADER_SHA256, firstHeader);
            metas.add(m);
        }
        return metas;
    }

    /** Files named like shards of {@code files}' prefix that are not among them (an earlier split with another count). */
    private static List<Path> strays(List<Path> files) {
        Path first = files.getFirst().toAbsolutePath();
        String prefix = first.getFileName().toString().replaceFirst("-\\d{5}-of-\\d{5}\\.gguf$", "");
        List<Path> strays = new ArrayList<>();
        try (java.nio.file.DirectoryStream<Path> ds = Files.newDirectoryStream(first.getParent(), prefix + "-*-of-*.gguf")) {
            for (Path p : ds) {
                if (GgufSplit.isShardName(prefix, p.getFileName().toString())
                        && files.stream().noneMatch(f -> f.getFileName().equals(p.getFileName()))) {
                    strays.add(p);
                }
            }
        } catch (java.io.IOException e) {
            throw new OutputException(first.getParent() + ": cannot list the output folder: " + e.getMessage(), e);
        }
        strays.sort(null);
        return strays;
    }

    /**
     * In llama-gguf-split's order: it sets {@code split.count} to a placeholder first and to the real count last,
     * and {@code gguf_set_val_*} of an existing key removes and re-appends it.
     */
    private static void splitKeys(GgufMetadata m, int index, int count, int tensors) {
        m.put(GgufSplit.NO, GgufValue.u16(index));
        m.putI32(GgufSplit.TENSORS_COUNT, tensors);
        m.put(GgufSplit.COUNT, GgufValue.u16(count));
    }

    /** SHA-256 of the first shard's bytes before its data section (header, key/values, tensor infos, padding). */
    static String headerSha256(GgufMetadata metadata, List<PlannedTensor> tensors) {
        byte[] header = GgufWriter.header(metadata, GgufWriter.layout(tensors, GgufMetadata.DEFAULT_ALIGNMENT));
        long dataOffset = GgufWriter.padded(header.length, GgufMetadata.DEFAULT_ALIGNMENT);
        MessageDigest d = Sha256.newDigest();
        d.update(header);
        d.update(new byte[(int) (dataOffset - header.length)]);
        return HexFormat.of().formatHex(d.digest());
    }

    @Override
    public List<Path> files() {
        return files;
    }

    @Override
    public long fileSize() {
        return shards.stream().mapToLong(GgufWriter::fileSize).sum();
    }

    @Override
    public void write(String name, MemorySegment bytes) {
        writerFor(name).write(name, bytes);
    }

    @Override
    public void startTensor(String name) {
        current = writerFor(name);
        current.startTensor(name);
    }

    @Override
    public void writeChunk(MemorySegment chunk) {
        if (current == null) {
            throw new IllegalStateException("no tensor is open; call startTensor(name) first");
        }
        current.writeChunk(chunk);
    }

    @Override
    public void endTensor() {
        if (current == null) {
            throw new IllegalStateException("no tensor is open");
        }
        current.endTensor();
        current = null;
    }

    private GgufWriter writerFor(String name) {
        GgufWriter w = writerOf.get(name);
        if (w == null) {
            throw new IllegalStateException("tensor '" + name + "' is not declared");
        }
        return w;
    }

    /** Checks every shard, then commits them all, the first shard last. */
    @Override
    public void finish() {
        shards.forEach(GgufWriter::complete);
        List<Path> committed = new ArrayList<>();
        try {
            for (int i = shards.size() - 1; i >= 0; i--) {
                shards.get(i).commit();
                committed.add(files.get(i));
            }
        } catch (RuntimeException e) {
            for (Path p : committed) {
                try {
                    Files.deleteIfExists(p.toAbsolutePath());
                } catch (java.io.IOException suppressed) {
                    e.addSuppressed(new OutputException(p + ": cannot remove after a failed commit: "
                            + suppressed.getMessage(), suppressed));
                }
            }
            throw e;
        }
        for (Path p : strays) {
            try {
                Files.deleteIfExists(p);
            } catch (java.io.IOException e) {
                throw new OutputException(p + ": cannot remove this shard of the replaced split: " + e.getMessage(), e);
            }
        }
    }

    /** Deletes every shard's temporary file unless {@link #finish()} succeeded. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (GgufWriter w : shards) {
            try {
                w.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
