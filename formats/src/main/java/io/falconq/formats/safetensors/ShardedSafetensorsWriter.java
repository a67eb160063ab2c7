package io.falconq.formats.safetensors;

import io.falconq.formats.io.AtomicFolder;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.OutputException;
import io.falconq.formats.io.PartialName;
import io.falconq.formats.safetensors.SafetensorsShardPlan.Shard;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes a {@link SafetensorsShardPlan} into a folder, streaming: tensors arrive one at a time in plan (state-dict)
 * order, each shard is a {@link SafetensorsWriter} through {@link AtomicOutput} (temporary file, fsync, rename) and is
 * committed as soon as its last tensor is written, and {@value SafetensorsShardPlan#INDEX_FILE} is written last, also
 * atomically, only when every shard is on disk. Memory stays bounded by what the caller hands over.
 *
 * <p><b>Resume contract.</b> {@link #open} treats the folder as this writer's own (normally an {@link AtomicFolder}
 * partial, possibly adopted from a killed run):
 * <ul>
 *   <li>a planned shard file already present is kept only if its size and its 8-byte length plus header are exactly
 *       what this plan and metadata make; otherwise it is deleted and written again ({@link #discardedShards()}), since
 *       rewriting is always correct while a mismatch only means another plan or a damaged file. Tensor data is not
 *       re-read: a shard file exists only after its atomic commit, so its data is complete;</li>
 *   <li>temporary files of planned files left by ended processes, weight files of other plans (names
 *       {@code model.safetensors} or {@code model-NNNNN-of-NNNNN.safetensors} not in this plan, as transformers'
 *       {@code save_pretrained} cleans them) and any old index are deleted;</li>
 *   <li>{@link #needs(String)} is then false exactly for the tensors of kept shards, and the caller supplies the others,
 *       still in plan order. With the same tensor bytes the folder ends byte-identical to an uninterrupted run.</li>
 * </ul>
 */
public final class ShardedSafetensorsWriter implements AutoCloseable {
    private static final Pattern WEIGHT_FILE = Pattern.compile("model(-\\d{5}-of-\\d{5})?\\.safetensors");

    private final Path folder;
    private final SafetensorsShardPlan plan;
    private final Map<String, String> metadata;
    private final Map<String, Shard> shardOf = new HashMap<>();
    private final List<String> pending = new ArrayList<>();
    private final Map<String, Integer> pendingIndex = new HashMap<>();
    private final Map<Shard, Integer> unwritten = new HashMap<>();
    private final Map<Shard, SafetensorsWriter> openShards = new LinkedHashMap<>();
    private final List<String> keptShards = new ArrayList<>();
    private final List<String> discardedShards = new ArrayList<>();
    private int next;
    private SafetensorsWriter current;
    private boolean finished;

    private ShardedSafetensorsWriter(Path folder, SafetensorsShardPlan plan, Map<String, String> metadata) {
        this.folder = folder;
        this.plan = plan;
        this.metadata = metadata == null ? null : new LinkedHashMap<>(metadata);
    }

    /**
     * Opens {@code folder} (which must exist) for {@code plan}, keeping the complete shards already there.
     *
     * @param metadata each shard's {@code "__metadata__"} in the order to write (transformers: {@code {"format": "pt"}});
     *                 {@code null} for none
     */
    public static ShardedSafetensorsWriter open(Path folder, SafetensorsShardPlan plan, Map<String, String> metadata) {
        if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
            throw new OutputException(folder + ": output folder does not exist");
        }
        ShardedSafetensorsWriter w = new ShardedSafetensorsWriter(folder, plan, metadata);
        w.removeLeftovers();
        for (Shard shard : plan.shards()) {
            shard.tensors().forEach(t -> w.shardOf.put(t.name(), shard));
            Path file = folder.resolve(shard.fileName());
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                if (w.isComplete(shard, file)) {
                    w.keptShards.add(shard.fileName());
                    continue;
                }
                w.discardedShards.add(shard.fileName());
                AtomicFolder.deleteRecursively(file);
            }
            w.unwritten.put(shard, shard.tensors().size());
        }
        for (SafetensorsWriter.PlannedTensor t : plan.tensors()) {
            if (w.unwritten.containsKey(w.shardOf.get(t.name()))) {
                w.pendingIndex.put(t.name(), w.pending.size());
                w.pending.add(t.name());
            }
        }
        return w;
    }

    public SafetensorsShardPlan plan() {
        return plan;
    }

    /** Whether the caller still has to supply this tensor (its shard is not on disk and it was not written yet). */
    public boolean needs(String name) {
        if (!shardOf.containsKey(name)) {
            throw new IllegalArgumentException("tensor \"" + name + "\" is not in the plan");
        }
        return pendingIndex.getOrDefault(name, -1) >= next;
    }

    /** The tensors still to supply, in the order to supply them. */
    public List<String> remaining() {
        return List.copyOf(pending.subList(next, pending.size()));
    }

    /** Shard files found complete when the writer was opened, and kept. */
    public List<String> keptShards() {
        return List.copyOf(keptShards);
    }

    /** Shard files found when the writer was opened that did not match the plan, deleted to be written again. */
    public List<String> discardedShards() {
        return List.copyOf(discardedShards);
    }

    /** Writes the next needed tensor whole; commits its shard if it was the shard's last tensor. */
    public void write(String name, MemorySegment bytes) {
        shardWriterFor(name).write(name, bytes);
        tensorWritten();
    }

    /** Starts the next needed tensor, which must be {@code name}; its bytes follow through {@link #writeChunk}. */
    public void startTensor(String name) {
        SafetensorsWriter shard = shardWriterFor(name);
        shard.startTensor(name);
        current = shard;
    }

    public void writeChunk(MemorySegment chunk) {
        openTensor().writeChunk(chunk);
    }

    public void endTensor() {
        openTensor().endTensor();
        current = null;
        tensorWritten();
    }

    /** Writes the index (when there are several shards) once every tensor is written. */
    public void finish() {
        finish(Map.of());
    }

    /** @param extraIndexMetadata more index {@code "metadata"} entries, e.g. {@code total_parameters} */
    public void finish(Map<String, Long> extraIndexMetadata) {
        if (finished || current != null || next < pending.size()) {
            throw new IllegalStateException(finished ? "the writer is finished" : "cannot finish: "
                    + (pending.size() - next) + " tensors not written; next is \"" + pending.get(next) + "\"");
        }
        if (plan.sharded()) {
            AtomicOutput.writeBytes(folder.resolve(SafetensorsShardPlan.INDEX_FILE), plan.indexJson(extraIndexMetadata), true);
        }
        finished = true;
    }

    /** Deletes the temporary files of shards not yet complete; committed shards stay for a resume. */
    @Override
    public void close() {
        openShards.values().forEach(SafetensorsWriter::close);
        openShards.clear();
        current = null;
    }

    private SafetensorsWriter shardWriterFor(String name) {
        if (finished || current != null || next >= pending.size() || !pending.get(next).equals(name)) {
            throw new IllegalStateException(finished ? "the writer is finished"
                    : current != null ? "a tensor is still open; call endTensor() first"
                    : next >= pending.size() ? "all needed tensors are written; got extra tensor \"" + name + "\""
                    : "expected tensor \"" + pending.get(next) + "\" next, got \"" + name + "\" (write only what needs(name) asks for)");
        }
        return openShards.computeIfAbsent(shardOf.get(name), s -> SafetensorsWriter.begin(folder.resolve(s.fileName()),
                metadata, s.tensors(), true, s.tensors().stream().map(SafetensorsWriter.PlannedTensor::name).toList()));
    }

    private SafetensorsWriter openTensor() {
        if (current == null) {
            throw new IllegalStateException("no tensor is open; call startTensor(name) first");
        }
        return current;
    }

    private void tensorWritten() {
        Shard shard = shardOf.get(pending.get(next));
        next++;
        if (unwritten.merge(shard, -1, Integer::sum) == 0) {
            openShards.remove(shard).finish();
        }
    }

    private boolean isComplete(Shard shard, Path file) {
        List<SafetensorsTensorInfo> layout = SafetensorsWriter.layout(shard.tensors());
        byte[] header = SafetensorsWriter.header(metadata, layout);
        long size = 8 + header.length + (layout.isEmpty() ? 0 : layout.getLast().end());
        ByteBuffer expected = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || ch.size() != size) {
                return false;
            }
            ByteBuffer actual = ByteBuffer.allocate(expected.remaining());
            while (actual.hasRemaining() && ch.read(actual) >= 0) {
                // read until the buffer is full; the size check above guarantees the bytes exist
            }
            return Arrays.equals(actual.array(), expected.array());
        } catch (IOException e) {
            return false;
        }
    }

    private void removeLeftovers() {
        Set<String> planned = new HashSet<>();
        plan.shards().forEach(s -> planned.add(s.fileName()));
        try (Stream<Path> list = Files.list(folder)) {
            for (Path p : list.toList()) {
                String name = p.getFileName().toString();
                boolean staleTemp = PartialName.parse(name)
                        .filter(n -> isWeightFile(n.target()) && (n.abandoned() || n.ours())).isPresent();
                boolean otherPlan = isWeightFile(name) && !planned.contains(name);
                if (staleTemp || otherPlan) {
                    AtomicFolder.deleteRecursively(p);
                }
            }
        } catch (IOException e) {
            throw new OutputException(folder + ": cannot list: " + e.getMessage(), e);
        }
    }

    /** Weight and index names of any plan; the index always counts as stale at open, since it is written last. */
    private static boolean isWeightFile(String name) {
        return WEIGHT_FILE.matcher(name).matches() || name.equals(SafetensorsShardPlan.INDEX_FILE);
    }
}
