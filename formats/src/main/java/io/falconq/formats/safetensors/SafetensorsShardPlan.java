package io.falconq.formats.safetensors;

import io.falconq.formats.safetensors.SafetensorsWriter.PlannedTensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The safetensors files of a checkpoint split as {@code save_pretrained(max_shard_size=...)} splits a state dict
 * (transformers calls huggingface_hub {@code split_torch_state_dict_into_shards}, whose rule is
 * {@code split_state_dict_into_shards_factory} in {@code huggingface_hub/serialization/_base.py}):
 * <ul>
 *   <li>tensors are taken in state-dict order (the order given here) and sized by their data bytes alone;</li>
 *   <li>a tensor larger than the maximum becomes a shard of its own, appended to the shard list at once, so it comes
 *       <em>before</em> the shard still being filled;</li>
 *   <li>otherwise a new shard starts when the tensor would take the current one over the maximum;</li>
 *   <li>one shard is named {@value #SINGLE_FILE} and has no index; several are named
 *       {@code model-00001-of-00003.safetensors} (five digits, 1-based) and listed in {@value #INDEX_FILE}.</li>
 * </ul>
 * {@code total_size} is the sum of all tensor data bytes (no headers). The reference's grouping of tensors that share
 * storage does not arise: every planned tensor has its own bytes.
 *
 * @param tensors   all tensors, in state-dict order (the order a streaming writer takes them)
 * @param shards    in file-name order
 * @param totalSize data bytes of all tensors
 */
public record SafetensorsShardPlan(List<PlannedTensor> tensors, List<Shard> shards, long totalSize) {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    /** One file of the plan; {@code tensors} in state-dict order (the file itself orders them by dtype and name). */
    public record Shard(String fileName, List<PlannedTensor> tensors, long dataSize) {
        public Shard {
            tensors = List.copyOf(tensors);
        }
    }

    public SafetensorsShardPlan {
        tensors = List.copyOf(tensors);
        shards = List.copyOf(shards);
    }

    /**
     * @param tensors      in state-dict order, at least one
     * @param maxShardSize data bytes per shard ({@link #parseSize} reads the usual spellings)
     */
    public static SafetensorsShardPlan split(List<PlannedTensor> tensors, long maxShardSize) {
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("no tensors to shard");
        }
        if (maxShardSize < 0) {
            throw new IllegalArgumentException("negative maximum shard size " + maxShardSize);
        }
        Map<String, Long> sizes = new HashMap<>();
        for (SafetensorsTensorInfo info : SafetensorsWriter.layout(tensors)) {
            sizes.put(info.name(), info.byteSize());
        }
        List<List<PlannedTensor>> groups = new ArrayList<>();
        List<PlannedTensor> current = new ArrayList<>();
        long currentSize = 0;
        long total = 0;
        for (PlannedTensor t : tensors) {
            long size = sizes.get(t.name());
            total = Math.addExact(total, size);
            if (size > maxShardSize) {
                groups.add(List.of(t));
                continue;
            }
            if (currentSize + size > maxShardSize) {
                groups.add(current);
                current = new ArrayList<>();
                currentSize = 0;
            }
            current.add(t);
            currentSize += size;
        }
        if (!current.isEmpty()) {
            groups.add(current);
        }
        List<Shard> shards = new ArrayList<>(groups.size());
        for (int i = 0; i < groups.size(); i++) {
            String name = groups.size() == 1 ? SINGLE_FILE
                    : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, groups.size());
            shards.add(new Shard(name, groups.get(i), groups.get(i).stream().mapToLong(t -> sizes.get(t.name())).sum()));
        }
        return new SafetensorsShardPlan(tensors, shards, total);
    }

    /** Whether there are several files and an index. */
    public boolean sharded() {
        return shards.size() > 1;
    }

    /** Tensor name to shard file name, shard by shard (as huggingface_hub's {@code tensor_to_filename}). */
    public Map<String, String> weightMap() {
        Map<String, String> map = new LinkedHashMap<>();
        for (Shard s : shards) {
            for (PlannedTensor t : s.tensors()) {
                map.put(t.name(), s.fileName());
            }
        }
        return map;
    }

    /** The {@value #INDEX_FILE} bytes transformers writes for this plan, with {@code total_size} only. */
    public byte[] indexJson() {
        return indexJson(Map.of());
    }

    /**
     * The index with more {@code "metadata"} entries, e.g. {@code total_parameters}, which transformers' current
     * {@code save_pretrained} adds from the model's parameter count (this plan cannot know it).
     */
    public byte[] indexJson(Map<String, Long> extraMetadata) {
        Map<String, Long> metadata = new LinkedHashMap<>(extraMetadata);
        metadata.put("total_size", totalSize);
        return ShardIndex.toJson(metadata, weightMap());
    }

    private static final Pattern NUMBER = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?");
    private static final Pattern SIZE = Pattern.compile("\\s*(\\S*?)\\s*(KB|MB|GB|TB|KIB|MIB|GIB|TIB|K|M|G|T)?\\s*",
            Pattern.CASE_INSENSITIVE);

    /**
     * Reads a maximum shard size the way the Hugging Face libraries do, plus a one-letter shorthand:
     * <ul>
     *   <li>{@code KB MB GB TB}, any case: decimal (10^3 ... 10^12), as huggingface_hub {@code parse_size_to_int}, which
     *       {@code save_pretrained} applies to a string; the number may have a fraction and the product is truncated
     *       ({@code int(float(v) * unit)}), so {@code "1.5GB"} is 1500000000;</li>
     *   <li>{@code KiB MiB GiB TiB}, any case: binary (2^10 ... 2^40), as transformers' {@code convert_file_size_to_int};</li>
     *   <li>{@code K M G T}: the same as {@code KB MB GB TB} (neither library accepts them; {@code "2M"} is 2000000);</li>
     *   <li>a plain integer: bytes, as an {@code int max_shard_size}.</li>
     * </ul>
     * The legacy lower-case {@code b} = bits rule of {@code convert_file_size_to_int} is not followed:
     * {@code parse_size_to_int} is case-insensitive and reads {@code "5Gb"} as 5 GB.
     *
     * @throws IllegalArgumentException naming the text and the accepted forms
     */
    public static long parseSize(String text) {
        Matcher m = SIZE.matcher(text);
        if (m.matches() && NUMBER.matcher(m.group(1)).matches()) {
            String unit = m.group(2) == null ? "" : m.group(2).toUpperCase(Locale.ROOT);
            if (unit.isEmpty() && m.group(1).chars().allMatch(Character::isDigit)) {
                try {
                    return Long.parseLong(m.group(1));
                } catch (NumberFormatException e) {
                    throw tooLarge(text);
                }
            }
            long multiplier = switch (unit) {
                case "K", "KB" -> 1_000L;
                case "M", "MB" -> 1_000_000L;
                case "G", "GB" -> 1_000_000_000L;
                case "T", "TB" -> 1_000_000_000_000L;
                case "KIB" -> 1L << 10;
                case "MIB" -> 1L << 20;
                case "GIB" -> 1L << 30;
                case "TIB" -> 1L << 40;
                default -> 0;
            };
            if (multiplier > 0) {
                double bytes = Double.parseDouble(m.group(1)) * multiplier;
                if (bytes >= 0x1p63) {
                    throw tooLarge(text);
                }
                return (long) bytes;
            }
        }
        throw new IllegalArgumentException("size \"" + text + "\" is not a number of bytes or a number with a unit"
                + " (KB, MB, GB, TB = powers of 1000, also K, M, G, T; KiB, MiB, GiB, TiB = powers of 1024), e.g. 5GB, 2M, 500MiB");
    }

    private static IllegalArgumentException tooLarge(String text) {
        return new IllegalArgumentException("size \"" + text + "\" is too large (at most 2^63 - 1 bytes)");
    }
}
