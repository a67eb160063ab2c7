package io.falconq.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * GGUFs written by {@code falconq convert} (through the CLI) from the tiny HF checkpoint, once per JVM and shared by
 * {@link GgufBitExactIT} and {@link LlamaCppLoadsIT}, in a temporary folder deleted at exit.
 */
final class ConvertedGgufs {
    /** A variant: the type (or mix) and whether llama.cpp's imatrix was used. */
    record Variant(String type, boolean imatrix) {
        String fileName() {
            return "tiny-" + type + (imatrix ? "-imatrix" : "") + ".gguf";
        }
    }

    private static final Map<Variant, Path> CACHE = new ConcurrentHashMap<>();
    private static Path dir;

    private ConvertedGgufs() {
    }

    /** Every file in {@code ../shared/llamacpp} named tiny-TYPE[-imatrix].gguf, as a variant (22 of them). */
    static List<Variant> llamaCppVariants() {
        List<Variant> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(CliRun.shared("llamacpp"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("tiny-") && n.endsWith(".gguf")).sorted()
                    .forEach(n -> {
                        String t = n.substring("tiny-".length(), n.length() - ".gguf".length());
                        out.add(new Variant(t.replace("-imatrix", ""), t.endsWith("-imatrix")));
                    });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (out.size() != 22) {
            throw new IllegalStateException("expected the 22 tiny-*.gguf files of llamacpp/README.md, found " + out);
        }
        return out;
    }

    /** The converted file for a variant, converting on first use. */
    static synchronized Path get(Variant v) {
        Path cached = CACHE.get(v);
        if (cached != null) {
            return cached;
        }
        Path out = dir().resolve(v.fileName());
        List<Object> args = new ArrayList<>(List.of("convert", CliRun.shared("models/falcon-h1-tiny"), "--type", v.type(),
                "-o", out, "-t", 2, "-q"));
        if (v.imatrix()) {
            args.add("--imatrix");
            args.add(CliRun.shared("llamacpp/imatrix-calib.gguf"));
        }
        CliRun run = CliRun.of(args.toArray());
        if (run.exitCode() != 0) {
            throw new AssertionError("falconq convert to " + v + " failed: " + run.describe());
        }
        CACHE.put(v, out);
        return out;
    }

    /** A scratch folder shared by the variants, removed when the JVM exits. */
    static synchronized Path dir() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("falconq-converted-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Path d = dir;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try (Stream<Path> s = Files.walk(d)) {
                    s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException ignored) {
                    // best effort cleanup of a temp folder
                }
            }));
        }
        return dir;
    }
}
