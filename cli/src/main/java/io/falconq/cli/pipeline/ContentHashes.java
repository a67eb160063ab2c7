package io.falconq.cli.pipeline;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.Sha256;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * SHA-256 of a file, or of a folder as the digest of its {@code sha256sum}-style listing (one
 * {@code "<sha256>  <relative path>\n"} line per file, sorted by path; names starting with {@code .} and
 * {@code *.partial-<pid>} temporaries are left out). Hashes are memoised per (path, size, modification time) for the
 * life of this object, so a multi-GB checkpoint is read once per run even when several steps depend on it.
 */
public final class ContentHashes {
    private record Stamp(long size, long lastModified) {
    }

    private record Memo(Stamp stamp, String sha256) {
    }

    private final Map<Path, Memo> memo = new ConcurrentHashMap<>();

    public String hash(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        if (Files.isDirectory(absolute)) {
            StringBuilder listing = new StringBuilder();
            for (Path file : files(absolute)) {
                listing.append(hash(file)).append("  ").append(relative(absolute, file)).append('\n');
            }
            return Sha256.of(listing.toString().getBytes(StandardCharsets.UTF_8));
        }
        Stamp stamp = stamp(absolute);
        Memo known = memo.get(absolute);
        if (known != null && known.stamp().equals(stamp)) {
            return known.sha256();
        }
        String sha = Sha256.ofFile(absolute);
        memo.put(absolute, new Memo(stamp, sha));
        return sha;
    }

    /** Total bytes of a file or of a folder's hashed files. */
    public static long size(Path path) {
        if (Files.isDirectory(path)) {
            long total = 0;
            for (Path file : files(path)) {
                total += stamp(file).size();
            }
            return total;
        }
        return stamp(path).size();
    }

    /** Modification time of a file, or the newest of a folder's hashed files. */
    public static long lastModified(Path path) {
        if (Files.isDirectory(path)) {
            long newest = 0;
            for (Path file : files(path)) {
                newest = Math.max(newest, stamp(file).lastModified());
            }
            return newest;
        }
        return stamp(path).lastModified();
    }

    /** The files a folder hash covers, sorted. */
    public static List<Path> files(Path folder) {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(folder)) {
            walk.filter(Files::isRegularFile).sorted().forEach(file -> {
                String rel = relative(folder, file);
                boolean hidden = false;
                for (String part : rel.split("/")) {
                    hidden |= part.startsWith(".");
                }
                if (!hidden && !rel.contains(".partial-")) {
                    out.add(file);
                }
            });
        } catch (IOException e) {
            throw new InvalidInputException(folder + ": cannot list: " + e.getMessage(), e);
        }
        return out;
    }

    static String relative(Path root, Path file) {
        List<String> parts = new ArrayList<>();
        root.relativize(file).forEach(p -> parts.add(p.toString()));
        return String.join("/", parts);
    }

    private static Stamp stamp(Path file) {
        try {
            return new Stamp(Files.size(file), Files.getLastModifiedTime(file).toMillis());
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot stat: " + e.getMessage(), e);
        }
    }
}
