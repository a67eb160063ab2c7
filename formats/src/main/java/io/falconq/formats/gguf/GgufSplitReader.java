package io.falconq.formats.gguf;

import io.falconq.formats.io.FormatException;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.Sha256;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Opens the rest of a split GGUF from its first shard ({@link GgufSplit}) and checks the set, as
 * llama-model-loader does and more: the first shard has {@code split.no} 0 and its name ends in
 * {@code -00001-of-0000N.gguf}; every other shard exists under its name, has the right {@code split.no}, the same
 * {@code split.count} and {@code split.tensors.count}, and (if written by falconq) the first shard's header hash;
 * no tensor appears twice; the tensors add up to {@code split.tensors.count}; and no other shard of the same name
 * lies beside them (a shard of another split, or one past the count). Any violation is an
 * {@link InvalidInputException} naming the shard.
 */
final class GgufSplitReader {
    private GgufSplitReader() {
    }

    /** The split count {@code first} declares, or 0 when it is not the head of a split model. */
    static int count(GgufFile first) {
        GgufMetadata m = first.metadata();
        return m.containsKey(GgufSplit.COUNT) ? u16(first, GgufSplit.COUNT) : 0;
    }

    /** Opens shards 2..n beside {@code first} (which declares {@code count} > 1) and returns the whole model. */
    static GgufFile open(GgufFile first, int count) {
        Path path = first.path();
        int no = u16(first, GgufSplit.NO);
        if (no != 0) {
            throw new InvalidInputException(path + ": is shard " + (no + 1) + " of a " + count
                    + "-shard split GGUF (split.no = " + no + "); open the first shard, "
                    + GgufSplit.shardPath(GgufSplit.prefixOf(path, no, count).orElse(GgufSplit.prefixOf(path)), 0, count).getFileName());
        }
        Path prefix = GgufSplit.prefixOf(path, 0, count).orElseThrow(() -> new InvalidInputException(path
                + ": is the first shard of a " + count + "-shard split GGUF but is not named <name>-00001-of-"
                + String.format("%05d", count) + ".gguf (renamed?); llama.cpp finds the other shards by that name"));
        int tensors = i32(first, GgufSplit.TENSORS_COUNT);
        String firstHeader = HexFormat.of().formatHex(digest(first));
        List<GgufFile> shards = new ArrayList<>();
        shards.add(first);
        try {
            for (int i = 1; i < count; i++) {
                Path p = GgufSplit.shardPath(prefix, i, count);
                if (!Files.isRegularFile(p)) {
                    throw new InvalidInputException(p + ": shard " + (i + 1) + " of " + count + " of " + path.getFileName()
                            + " is missing (expected every shard beside the first)");
                }
                GgufFile shard = GgufReader.openSingle(p);
                shards.add(shard);
                check(shard, i, count, tensors, firstHeader, path);
            }
            checkTensors(shards, tensors);
            checkNoStrays(prefix, count);
        } catch (RuntimeException e) {
            for (int i = 1; i < shards.size(); i++) {
                shards.get(i).close();
            }
            throw e;
        }
        return new GgufFile(shards);
    }

    private static void check(GgufFile shard, int index, int count, int tensors, String firstHeader, Path first) {
        Path p = shard.path();
        String of = " (expected shard " + (index + 1) + " of " + count + " of " + first.getFileName() + ")";
        if (!shard.metadata().containsKey(GgufSplit.NO) || !shard.metadata().containsKey(GgufSplit.COUNT)) {
            throw new InvalidInputException(p + ": has no split.no/split.count keys: not a shard of a split GGUF" + of);
        }
        int no = u16(shard, GgufSplit.NO);
        int n = u16(shard, GgufSplit.COUNT);
        if (no != index || n != count) {
            throw new InvalidInputException(p + ": is shard " + (no + 1) + " of " + n + of);
        }
        int t = i32(shard, GgufSplit.TENSORS_COUNT);
        if (t != tensors) {
            throw new InvalidInputException(p + ": split.tensors.count = " + t + ", the first shard says " + tensors
                    + ": a shard of another model" + of);
        }
        if (shard.metadata().containsKey(GgufSplit.FIRST_HEADER_SHA256)) {
            String expected = shard.metadata().getString(GgufSplit.FIRST_HEADER_SHA256);
            if (!expected.equals(firstHeader)) {
                throw new InvalidInputException(p + ": belongs to a first shard with header SHA-256 " + expected
                        + ", but " + first.getFileName() + "'s is " + firstHeader + ": a shard of another model or split" + of);
            }
        }
    }

    private static void checkTensors(List<GgufFile> shards, int tensors) {
        Map<String, Path> seen = new HashMap<>();
        for (GgufFile s : shards) {
            for (GgufTensorInfo t : s.tensorInfos()) {
                Path before = seen.put(t.name(), s.path());
                if (before != null) {
                    throw new InvalidInputException(s.path() + ": tensor \"" + t.name() + "\" is also in " + before
                            + " (duplicated across shards)");
                }
            }
        }
        if (seen.size() != tensors) {
            throw new InvalidInputException(shards.getFirst().path() + ": split.tensors.count = " + tensors + " but the "
                    + shards.size() + " shards hold " + seen.size() + " tensors (a shard of another model?)");
        }
    }

    /** Refuses another shard of the same name beside the set: {@code name-0000k-of-0000m.gguf} not in it. */
    private static void checkNoStrays(Path prefix, int count) {
        Path dir = prefix.toAbsolutePath().getParent();
        String name = prefix.getFileName().toString();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, name + "-*-of-*.gguf")) {
            for (Path f : files) {
                String fileName = f.getFileName().toString();
                if (!GgufSplit.isShardName(name, fileName)) {
                    continue;
                }
                boolean inSet = false;
                for (int i = 0; i < count && !inSet; i++) {
                    inSet = GgufSplit.shardPath(prefix, i, count).getFileName().toString().equals(fileName);
                }
                if (!inSet) {
                    throw new InvalidInputException(f + ": an extra shard beside the " + count + "-shard split "
                            + GgufSplit.shardPath(prefix, 0, count).getFileName()
                            + " (from another split of the same name? remove it)");
                }
            }
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot list the folder of a split GGUF: " + e.getMessage(), e);
        }
    }

    private static byte[] digest(GgufFile first) {
        MessageDigest d = Sha256.newDigest();
        d.update(first.headerBytes());
        return d.digest();
    }

    private static int u16(GgufFile f, String key) {
        GgufValue v = f.metadata().get(key);
        if (v.type() != GgufValueType.UINT16) {
            throw new FormatException(f.path(), -1, "'" + key + "' has type " + v.typeName() + ", must be UINT16");
        }
        return (Integer) v.value();
    }

    private static int i32(GgufFile f, String key) {
        GgufValue v = f.metadata().get(key);
        if (v.type() != GgufValueType.INT32) {
            throw new FormatException(f.path(), -1, "'" + key + "' has type " + v.typeName() + ", must be INT32");
        }
        return (Integer) v.value();
    }
}
