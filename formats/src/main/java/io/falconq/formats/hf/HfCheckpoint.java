package io.falconq.formats.hf;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.io.FormatException;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.safetensors.SafetensorsFile;
import io.falconq.formats.safetensors.SafetensorsReader;
import io.falconq.formats.safetensors.SafetensorsTensorInfo;
import io.falconq.formats.safetensors.ShardIndex;
import io.falconq.formats.safetensors.StrictJson;
import io.falconq.formats.tensor.TensorSource;
import io.falconq.formats.tensor.TensorView;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Hugging Face checkpoint folder: {@code config.json}, the weights as {@code model.safetensors} or as shards
 * listed in {@code model.safetensors.index.json}, and the tokenizer files. The weights of all shards are one
 * {@link TensorSource} with names in sorted order. Also accepts the path of a single {@code .safetensors} file
 * (its folder is then the checkpoint folder).
 *
 * <p>For sharded checkpoints every shard name must be a plain file name in the folder (the index cannot reach out of
 * it); the file itself may be a symbolic link to a regular file anywhere, as in the Hugging Face cache, where
 * {@code snapshots/<rev>/} holds links into {@code ../../blobs/}. Every indexed tensor must be in its shard; no shard tensor may be missing from the index or appear in
 * two shards. When both a single file and an index exist, the single file wins, as in transformers.
 */
public final class HfCheckpoint implements TensorSource {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path dir;
    private final List<SafetensorsFile> shards;
    private final ShardIndex index;
    private final Map<String, SafetensorsFile> shardByTensor;
    private final List<String> names;
    private final JsonNode config;

    private HfCheckpoint(Path dir, List<SafetensorsFile> shards, ShardIndex index, Map<String, SafetensorsFile> shardByTensor,
                         JsonNode config) {
        this.dir = dir;
        this.shards = List.copyOf(shards);
        this.index = index;
        this.shardByTensor = shardByTensor;
        this.names = shardByTensor.keySet().stream().sorted().toList();
        this.config = config;
    }

    public static HfCheckpoint open(Path path) {
        if (Files.exists(path) && !Files.isDirectory(path)) {
            InputFiles.requireRegular(path);
            Path dir = path.toAbsolutePath().getParent();
            return openShards(dir, List.of(path), null);
        }
        if (!Files.isDirectory(path)) {
            throw new InvalidInputException(path + ": no such checkpoint folder or .safetensors file");
        }
        Path single = path.resolve(SINGLE_FILE);
        if (Files.exists(single)) {
            return openShards(path, List.of(single), null);
        }
        Path indexFile = path.resolve(INDEX_FILE);
        if (!Files.exists(indexFile)) {
            throw new InvalidInputException(path + ": no " + SINGLE_FILE + " or " + INDEX_FILE
                    + " (only safetensors checkpoints are supported)");
        }
        ShardIndex index = ShardIndex.read(indexFile);
        List<Path> shardPaths = new ArrayList<>();
        for (String shard : index.shardNames()) {
            Path p = path.resolve(shard);
            if (!path.normalize().equals(p.normalize().getParent())) {
                throw new FormatException(indexFile, -1, "shard \"" + shard + "\" is not a file name inside the checkpoint folder "
                        + path);
            }
            if (!Files.exists(p)) {
                throw new FormatException(indexFile, -1, "shard \"" + shard + "\" listed in weight_map does not exist in " + path);
            }
            shardPaths.add(p);
        }
        return openShards(path, shardPaths, index);
    }

    private static HfCheckpoint openShards(Path dir, List<Path> shardPaths, ShardIndex index) {
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byFileName = new HashMap<>();
            for (Path p : shardPaths) {
                SafetensorsFile f = SafetensorsReader.open(p);
                opened.add(f);
                byFileName.put(p.getFileName().toString(), f);
            }
            Map<String, SafetensorsFile> shardByTensor = new LinkedHashMap<>();
            for (SafetensorsFile f : opened) {
                for (String name : f.names()) {
                    SafetensorsFile other = shardByTensor.putIfAbsent(name, f);
                    if (other != null) {
                        throw new FormatException(index == null ? f.path() : index.file(), -1, "tensor \"" + name
                                + "\" appears in two shards: " + other.path().getFileName() + " and " + f.path().getFileName());
                    }
                }
            }
            if (index != null) {
                for (Map.Entry<String, String> e : index.weightMap().entrySet()) {
                    SafetensorsFile shard = byFileName.get(e.getValue());
                    if (!shard.contains(e.getKey())) {
                        SafetensorsFile actual = shardByTensor.get(e.getKey());
                        throw new FormatException(index.file(), -1, "tensor \"" + e.getKey() + "\" is indexed in shard "
                                + e.getValue() + ", which does not contain it" + (actual == null ? ""
                                : " (it is stored in " + actual.path().getFileName() + ")"));
                    }
                }
                for (String name : shardByTensor.keySet()) {
                    if (!index.weightMap().containsKey(name)) {
                        throw new FormatException(index.file(), -1, "tensor \"" + name + "\" in shard "
                                + shardByTensor.get(name).path().getFileName() + " is missing from weight_map");
                    }
                }
            }
            Path configPath = dir.resolve("config.json");
            JsonNode config = Files.exists(configPath) ? StrictJson.readFile(configPath) : null;
            return new HfCheckpoint(dir, opened, index, shardByTensor, config);
        } catch (RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /** The checkpoint folder. */
    public Path dir() {
        return dir;
    }

    /** The raw {@code config.json}; fails if the folder has none. */
    public JsonNode configJson() {
        if (config == null) {
            throw new InvalidInputException(dir + ": no config.json");
        }
        return config;
    }

    public Optional<Path> configPath() {
        return existing("config.json");
    }

    public Optional<Path> tokenizerJson() {
        return existing("tokenizer.json");
    }

    public Optional<Path> tokenizerConfigJson() {
        return existing("tokenizer_config.json");
    }

    private Optional<Path> existing(String fileName) {
        Path p = dir.resolve(fileName);
        return Files.exists(p) ? Optional.of(InputFiles.requireRegular(p)) : Optional.empty();
    }

    /** The index, for a sharded checkpoint. */
    public Optional<ShardIndex> shardIndex() {
        return Optional.ofNullable(index);
    }

    /** Open weight files, in index order (one for a single-file checkpoint). */
    public List<SafetensorsFile> shards() {
        return shards;
    }

    /** The shard holding {@code name}. */
    public SafetensorsFile shardOf(String name) {
        SafetensorsFile f = shardByTensor.get(name);
        if (f == null) {
            throw new InvalidInputException(dir + ": checkpoint has no tensor named \"" + name + "\"");
        }
        return f;
    }

    public boolean contains(String name) {
        return shardByTensor.containsKey(name);
    }

    public SafetensorsTensorInfo info(String name) {
        return shardOf(name).info(name);
    }

    public MemorySegment rawBytes(String name) {
        return shardOf(name).rawBytes(name);
    }

    /** All tensor names, sorted. */
    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public Optional<TensorView> find(String name) {
        return contains(name) ? Optional.of(view(name)) : Optional.empty();
    }

    @Override
    public TensorView view(String name) {
        return shardOf(name).view(name);
    }

    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }
}
