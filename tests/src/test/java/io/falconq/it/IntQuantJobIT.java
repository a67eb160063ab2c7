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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The layer-by-layer int-quant job as a user runs it: the same bytes for any thread count, the same bytes after a
 * SIGKILL and a resumed run, and sharded output that loads with the same perplexity as one file.
 */
class IntQuantJobIT {
    private static final Path TINY = CliRun.shared("models/falcon-h1-tiny");

    private static List<Object> gptqArgs(Path out, int threads) {
        return List.of("quantize", TINY, "--scheme", "w4", "--method", "gptq", "--chunks", 4, "-o", out, "-t", threads);
    }

    @Test
    void sameBytesForOneAndTwoThreadsAndAfterAKilledRunResumes(@TempDir Path tmp) throws Exception {
        Path one = tmp.resolve("t1");
        Path two = tmp.resolve("t2");
        CliRun r1 = CliRun.of(gptqArgs(one, 1).toArray());
        assertEquals(0, r1.exitCode(), r1.describe());
        CliRun r2 = CliRun.of(gptqArgs(two, 2).toArray());
        assertEquals(0, r2.exitCode(), r2.describe());
        assertSameFiles(one, two);

        // a separate JVM, killed (SIGKILL: no shutdown hook, no finally) once two layers are recorded as done
        Path killed = tmp.resolve("killed");
        CliRun resumed = CliRun.killedAndResumed("[2/4] layer 1", killed, gptqArgs(killed, 2));
        assertTrue(resumed.err().contains("resumed after layer"), resumed.describe());
        assertSameFiles(two, killed);
    }

    @Test
    void shardedOutputLoadsWithTheSamePerplexity(@TempDir Path tmp) throws IOException {
        Path single = tmp.resolve("single");
        Path sharded = tmp.resolve("sharded");
        CliRun a = CliRun.of("quantize", TINY, "--scheme", "w4", "-o", single);
        assertEquals(0, a.exitCode(), a.describe());
        CliRun b = CliRun.of("quantize", TINY, "--scheme", "w4", "--max-shard-size", "2M", "-o", sharded);
        assertEquals(0, b.exitCode(), b.describe());
        assertTrue(Files.exists(single.resolve("model.safetensors")));
        assertFalse(Files.exists(single.resolve("model.safetensors.index.json")));
        assertTrue(Files.exists(sharded.resolve("model.safetensors.index.json")));
        long shards;
        try (Stream<Path> files = Files.list(sharded)) {
            shards = files.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count();
        }
        assertTrue(shards >= 3, "a 6.6 MB folder at 2 MB per shard: " + shards + " shards");
        JsonIndex index = JsonIndex.of(sharded);
        assertTrue(index.totalSize() > 0);
        assertEquals(IntQuantIT.perplexity(single, 4), IntQuantIT.perplexity(sharded, 4),
                "the same tensors, only split: the same perplexity to the last bit");
    }

    private record JsonIndex(long totalSize) {
        static JsonIndex of(Path folder) {
            return new JsonIndex(CliRun.readJson(folder.resolve("model.safetensors.index.json"))
                    .path("metadata").path("total_size").asLong(-1));
        }
    }

    private static void assertSameFiles(Path a, Path b) throws IOException {
        List<String> names;
        try (Stream<Path> files = Files.list(a)) {
            names = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        try (Stream<Path> files = Files.list(b)) {
            assertEquals(names, files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        for (String n : names) {
            assertArrayEquals(Files.readAllBytes(a.resolve(n)), Files.readAllBytes(b.resolve(n)), n);
        }
    }
}
