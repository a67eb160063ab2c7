package io.falconq.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The files one hostile-input case runs on, built in a fresh folder: {@code in/} holds the inputs (copies of the tiny
 * model, FIFOs, links, edited configs), {@code out/} is where outputs may go, and only {@code out/result…} may change.
 */
final class HostileFixture {
    static final Path TINY = CliRun.shared("models/falcon-h1-tiny");
    static final Path TINY_SHARDED = CliRun.shared("models/falcon-h1-tiny-sharded");
    static final Path F32_GGUF = CliRun.shared("llamacpp/tiny-F32.gguf");
    static final Path Q4_GGUF = CliRun.shared("llamacpp/tiny-Q4_0.gguf");
    static final Path IMATRIX = CliRun.shared("llamacpp/imatrix-calib.gguf");
    static final Path VALID = CliRun.shared("corpus/valid.txt");
    private static final ObjectMapper JSON = new ObjectMapper();

    final Path root;
    final Path in;
    final Path out;

    HostileFixture(Path root) {
        this.root = root;
        try {
            this.in = Files.createDirectories(root.resolve("in"));
            this.out = Files.createDirectories(root.resolve("out"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The fresh output path the command may create. */
    Path result(String suffix) {
        return out.resolve("result" + suffix);
    }

    /** A copy of the tiny model (or of {@code source}) at {@code in/<name>}. */
    Path model(String name, Path source) throws IOException {
        Path dir = Files.createDirectories(in.resolve(name));
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }

    Path model() throws IOException {
        return model("model", TINY);
    }

    /** The tiny model with an edited config.json. */
    Path modelWithConfig(Consumer<ObjectNode> edit) throws IOException {
        Path dir = model();
        Files.write(dir.resolve("config.json"), JSON.writeValueAsBytes(editedConfig(edit)));
        return dir;
    }

    /** The tiny model's config.json, edited, at {@code in/config.json}. */
    Path config(Consumer<ObjectNode> edit) throws IOException {
        return Files.write(in.resolve("config.json"), JSON.writeValueAsBytes(editedConfig(edit)));
    }

    private static ObjectNode editedConfig(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode config = (ObjectNode) JSON.readTree(TINY.resolve("config.json").toFile());
        edit.accept(config);
        return config;
    }

    /** The tiny model whose {@code file} is replaced by a FIFO. */
    Path modelWithFifo(String file) throws IOException {
        Path dir = model();
        Files.delete(dir.resolve(file));
        fifo(dir.resolve(file));
        return dir;
    }

    /** The tiny model whose {@code file} is replaced by a link to {@code target}. */
    Path modelWithLink(String file, Path target) throws IOException {
        Path dir = model();
        Files.delete(dir.resolve(file));
        Files.createSymbolicLink(dir.resolve(file), target);
        return dir;
    }

    /** The tiny model with the first element of {@code tensor} (BF16 or F32) set to +Inf. */
    Path modelWithInf(String tensor) throws IOException {
        Path dir = model();
        Path file = dir.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(file);
        java.nio.ByteBuffer le = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int headerLength = Math.toIntExact(le.getLong(0));
        var info = JSON.readTree(java.util.Arrays.copyOfRange(b, 8, 8 + headerLength)).get(tensor);
        int at = 8 + headerLength + info.get("data_offsets").get(0).asInt();
        switch (info.get("dtype").asText()) {
            case "BF16" -> le.putShort(at, (short) 0x7f80);
            case "F32" -> le.putFloat(at, Float.POSITIVE_INFINITY);
            default -> throw new IllegalStateException(tensor + " is " + info.get("dtype"));
        }
        Files.write(file, b);
        return dir;
    }

    Path copy(Path source, String name) throws IOException {
        return Files.copy(source, in.resolve(name));
    }

    Path file(Path where, String text) throws IOException {
        Files.createDirectories(where.getParent());
        return Files.writeString(where, text);
    }

    static Path fifo(Path where) throws IOException {
        try {
            Process p = new ProcessBuilder("mkfifo", where.toString()).inheritIO().start();
            if (p.waitFor() != 0) {
                throw new IOException("mkfifo " + where + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return where;
    }

    Path fifo(String name) throws IOException {
        return fifo(in.resolve(name));
    }

    /**
     * {@code source}'s files as the Hugging Face cache stores them: {@code hub/models--tiiuae--tiny/blobs/<sha256>}
     * and {@code snapshots/<rev>/<name>} links to {@code ../../blobs/<sha256>}. Returns the snapshot folder.
     */
    Path cache(Path source) throws IOException {
        Path repo = in.resolve("hub/models--tiiuae--tiny");
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots/0123456789abcdef"));
        List<Path> files;
        if (Files.isDirectory(source)) {
            try (Stream<Path> list = Files.list(source)) {
                files = list.filter(Files::isRegularFile).toList();
            }
        } else {
            files = List.of(source);
        }
        for (Path f : files) {
            String hash = sha256(f);
            if (!Files.exists(blobs.resolve(hash))) {
                Files.copy(f, blobs.resolve(hash));
            }
            Files.createSymbolicLink(snapshot.resolve(f.getFileName()), Path.of("..", "..", "blobs", hash));
        }
        return snapshot;
    }

    /** Every entry under the root, links not followed: type, size and SHA-256 of files, targets of links. */
    Map<String, String> snapshot() throws IOException {
        Map<String, String> entries = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                String what = a.isSymbolicLink() ? "link " + Files.readSymbolicLink(p)
                        : a.isDirectory() ? "dir" : a.isRegularFile() ? "file " + a.size() + " " + sha256(p) : "special";
                entries.put(root.relativize(p).toString(), what);
            }
        }
        return entries;
    }

    static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
