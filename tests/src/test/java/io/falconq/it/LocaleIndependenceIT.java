package io.falconq.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What falconq writes and prints is the same whatever the user's locale: a JVM started in Turkish (decimal comma,
 * '.' grouping, and a dotless lower-case I) against one started in US English. Before the CLI fixed its locale,
 * {@code quantize --method clip} wrote {@code "method": "clıp"} into quantize_config.json there, and {@code convert}
 * printed {@code 4.142.240 data bytes, 5,093 bits/weight}.
 */
class LocaleIndependenceIT {
    private static final List<String> US = List.of("-Duser.language=en", "-Duser.country=US");
    private static final List<String> TURKISH = List.of("-Duser.language=tr", "-Duser.country=TR");

    @Test
    void quantizeWritesTheSameFolderInEveryLocale(@TempDir Path dir) throws Exception {
        Path us = dir.resolve("us");
        Path turkish = dir.resolve("tr");
        quantize(US, us);
        quantize(TURKISH, turkish);
        List<String> files = names(us);
        assertEquals(files, names(turkish));
        for (String f : files) {
            assertArrayEquals(Files.readAllBytes(us.resolve(f)), Files.readAllBytes(turkish.resolve(f)), f);
        }
    }

    @Test
    void printedNumbersAreTheSameInEveryLocale() throws Exception {
        Object[] args = {"convert", "--dry-run", "--type", "Q4_K_M", CliRun.shared("models/falcon-h1-tiny")};
        CliRun us = CliRun.forked(US, new long[1], args);
        CliRun turkish = CliRun.forked(TURKISH, new long[1], args);
        assertEquals(0, us.exitCode(), us.describe());
        assertEquals(us.out(), turkish.out());
    }

    private static void quantize(List<String> locale, Path out) throws IOException, InterruptedException {
        CliRun r = CliRun.forked(locale, new long[1], "quantize", "--scheme", "w4", "--method", "clip", "--data",
                CliRun.shared("corpus/calib.txt"), "--chunks", 2, "--ctx", 64, "-q", "-o", out,
                CliRun.shared("models/falcon-h1-tiny"));
        assertEquals(0, r.exitCode(), r.describe());
    }

    private static List<String> names(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
