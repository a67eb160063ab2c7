package io.falconq.cli.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.OutputException;
import io.falconq.formats.io.Sha256;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * {@code manifest.json}: every published file under a dist folder with its size and SHA-256, for upload scripts
 * and for users checking a download. Paths are relative with {@code /} separators and sorted, and there is no
 * timestamp, so the manifest of the same files is always the same bytes.
 *
 * <p>Not listed: the manifest itself, anything under a folder whose name starts with {@code .} (the pipeline's
 * state in {@code .falconq/} is not for publishing), and {@link AtomicOutput} temporary files
 * ({@code *.partial-<pid>}), which are never artifacts, and symbolic links: a link is not something falconq
 * published, and following one could hash and list a file outside the folder.
 *
 * @param schemaVersion {@link #SCHEMA_VERSION}
 * @param artifacts     sorted by path
 */
public record Manifest(int schemaVersion, List<Entry> artifacts) {
    public static final String FILE_NAME = "manifest.json";
    public static final int SCHEMA_VERSION = 1;

    public Manifest {
        artifacts = List.copyOf(artifacts);
    }

    /**
     * @param path   relative to the dist folder, {@code /} separators
     * @param size   bytes
     * @param sha256 lower-case hex
     */
    public record Entry(String path, long size, String sha256) {
        public Entry {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(sha256, "sha256");
        }
    }

    /** Hashes every publishable file under {@code dist}. */
    public static Manifest scan(Path dist) {
        List<Entry> entries = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dist)) {
            for (Path file : files.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).sorted().toList()) {
                String relative = relativePath(dist, file);
                if (isPublished(relative)) {
                    entries.add(new Entry(relative, Files.size(file), Sha256.ofFile(file)));
                }
            }
        } catch (IOException e) {
            throw new OutputException(dist + ": cannot list files for the manifest: " + e.getMessage(), e);
        }
        entries.sort(Comparator.comparing(Entry::path));
        return new Manifest(SCHEMA_VERSION, entries);
    }

    static boolean isPublished(String relativePath) {
        if (relativePath.equals(FILE_NAME) || relativePath.contains(".partial-")) {
            return false;
        }
        for (String part : relativePath.split("/")) {
            if (part.startsWith(".")) {
                return false;
            }
        }
        return true;
    }

    static String relativePath(Path root, Path file) {
        Path relative = root.relativize(file);
        List<String> parts = new ArrayList<>();
        relative.forEach(p -> parts.add(p.toString()));
        return String.join("/", parts);
    }

    public String toJson() {
        try {
            return ReportJson.MAPPER.writeValueAsString(this) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("manifest is not serialisable: " + e.getMessage(), e);
        }
    }

    public void write(Path file, boolean force) {
        AtomicOutput.writeBytes(file, toJson().getBytes(StandardCharsets.UTF_8), force);
    }
}
