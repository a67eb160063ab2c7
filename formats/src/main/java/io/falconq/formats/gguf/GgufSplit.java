package io.falconq.formats.gguf;

import io.falconq.formats.gguf.GgufWriter.PlannedTensor;
import io.falconq.formats.tensor.Shapes;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * llama.cpp's split-GGUF convention (tools/gguf-split/gguf-split.cpp, src/llama-model-loader.cpp), shared by
 * {@link GgufSplitWriter} and {@link GgufSplitReader}:
 * <ul>
 *   <li>shard {@code i} of {@code n} is {@code <prefix>-%05d-of-%05d.gguf} with {@code i + 1} ({@code llama_split_path});</li>
 *   <li>the first shard carries all metadata, then {@code split.no} (u16), {@code split.tensors.count} (i32, the
 *       tensors of all shards) and {@code split.count} (u16), in that order; the others carry only those three keys;</li>
 *   <li>tensors keep their file order and are never cut: with a tensor limit a new shard starts at every
 *       multiple of it, with a size limit when the shard's tensor data (each tensor padded to 32) would exceed it.</li>
 * </ul>
 * falconq adds one key to shards 2..n, {@link #FIRST_HEADER_SHA256}: the SHA-256 of the first shard's bytes before
 * its data section, so a shard of another model (or another split of this one) is recognised. llama.cpp reads and
 * ignores it ({@code llama-gguf-split --merge} takes metadata from the first shard only).
 */
public final class GgufSplit {
    public static final String NO = "split.no";
    public static final String COUNT = "split.count";
    public static final String TENSORS_COUNT = "split.tensors.count";
    public static final String FIRST_HEADER_SHA256 = "falconq.split.first_header_sha256";
    /** {@code split.count} and {@code split.no} are u16. */
    public static final int MAX_SHARDS = 0xffff;

    private static final Pattern SHARD_NAME = Pattern.compile("(.+)-(\\d{5})-of-(\\d{5})\\.gguf");

    private GgufSplit() {
    }

    /** {@code --split-max-tensors N} or {@code --split-max-size BYTES}: exactly one is positive. */
    public record Rule(int maxTensors, long maxBytes) {
        public Rule {
            if ((maxTensors > 0) == (maxBytes > 0) || maxTensors < 0 || maxBytes < 0) {
                throw new IllegalArgumentException("a split rule has either a tensor or a byte limit, got "
                        + maxTensors + " tensors, " + maxBytes + " bytes");
            }
        }

        public static Rule maxTensors(int n) {
            return new Rule(n, 0);
        }

        public static Rule maxBytes(long bytes) {
            return new Rule(0, bytes);
        }

        @Override
        public String toString() {
            return maxTensors > 0 ? "at most " + maxTensors + " tensors per shard" : "at most " + maxBytes + " bytes per shard";
        }
    }

    /**
     * Groups {@code tensors} (file order) into shards as {@code split_strategy} does. Unlike llama-gguf-split, a
     * first tensor over the size limit gets a shard of its own instead of an error (llama.cpp refuses the empty
     * first shard it would otherwise make); every plan llama-gguf-split accepts is the same.
     */
    public static List<List<PlannedTensor>> plan(List<PlannedTensor> tensors, Rule rule) {
        List<List<PlannedTensor>> shards = new ArrayList<>();
        List<PlannedTensor> current = new ArrayList<>();
        long currentBytes = 0;
        for (int i = 0; i < tensors.size(); i++) {
            PlannedTensor t = tensors.get(i);
            long bytes = GgufWriter.padded(t.type().bytesFor(Shapes.elementCount(t.ne())),
                    GgufMetadata.DEFAULT_ALIGNMENT);
            boolean split = rule.maxTensors() > 0 ? i > 0 && i % rule.maxTensors() == 0
                    : currentBytes + bytes > rule.maxBytes();
            if (split && !current.isEmpty()) {
                shards.add(List.copyOf(current));
                current.clear();
                currentBytes = 0;
            }
            current.add(t);
            currentBytes += bytes;
        }
        shards.add(List.copyOf(current));
        if (shards.size() > MAX_SHARDS) {
            throw new IllegalArgumentException(rule + " makes " + shards.size() + " shards; split.count is a u16 (max "
                    + MAX_SHARDS + ")");
        }
        return shards;
    }

    /** {@code llama_split_path}: shard {@code index} (0-based) of {@code count}. */
    public static Path shardPath(Path prefix, int index, int count) {
        return prefix.resolveSibling(String.format(Locale.ROOT, "%s-%05d-of-%05d.gguf", prefix.getFileName(), index + 1, count));
    }

    /** The prefix an output name gives: {@code dir/model.gguf} and {@code dir/model} both give {@code dir/model}. */
    public static Path prefixOf(Path output) {
        String name = output.getFileName().toString();
        return name.toLowerCase(Locale.ROOT).endsWith(".gguf") && name.length() > 5
                ? output.resolveSibling(name.substring(0, name.length() - 5)) : output;
    }

    /** {@code llama_split_prefix}: the prefix of {@code shard} if its name ends in {@code -%05d-of-%05d.gguf} for these numbers. */
    public static Optional<Path> prefixOf(Path shard, int index, int count) {
        Matcher m = SHARD_NAME.matcher(shard.getFileName().toString());
        if (!m.matches() || !m.group(2).equals(String.format(Locale.ROOT, "%05d", index + 1))
                || !m.group(3).equals(String.format(Locale.ROOT, "%05d", count))) {
            return Optional.empty();
        }
        return Optional.of(shard.resolveSibling(m.group(1)));
    }

    /** Whether {@code fileName} is a shard name of {@code prefixName} (any numbers). */
    static boolean isShardName(String prefixName, String fileName) {
        Matcher m = SHARD_NAME.matcher(fileName);
        return m.matches() && m.group(1).equals(prefixName);
    }

    /** Copies {@code metadata} without the split keys (llama-quantize removes them from its output). */
    public static GgufMetadata withoutSplitKeys(GgufMetadata metadata) {
        GgufMetadata m = metadata.copy();
        for (String k : List.of(NO, COUNT, TENSORS_COUNT, FIRST_HEADER_SHA256)) {
            m.remove(k);
        }
        return m;
    }
}
