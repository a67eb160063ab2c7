package io.falconq.it;

import io.falconq.runtime.FalconH1Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code falconq synth} writes loadable, sharded, seed-deterministic checkpoints with a config's exact shapes. */
class SynthCommandIT {

    @Test
    void tinyShapesShardedLoadableAndDeterministic(@TempDir Path dir) throws IOException {
        Path config = CliRun.shared("models/falcon-h1-tiny/config.json");
        Path tok = CliRun.shared("models/falcon-h1-tiny");
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        Path c = dir.resolve("c");
        CliRun run = CliRun.of("synth", "--config", config, "-o", a, "--tokenizer", tok, "--max-shard-size", 5, "-t", 2, "-q");
        assertEquals(0, run.exitCode(), run.describe());
        assertEquals(0, CliRun.of("synth", "--config", config, "-o", b, "--tokenizer", tok, "--max-shard-size", 5, "-t", 1,
                "-q").exitCode());
        assertEquals(0, CliRun.of("synth", "--config", config, "-o", c, "--seed", 1, "--max-shard-size", 5, "--no-tokenizer",
                "-q").exitCode());
        List<String> shards = List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors");
        for (String s : shards) {
            assertArrayEquals(Files.readAllBytes(a.resolve(s)), Files.readAllBytes(b.resolve(s)),
                    s + ": same seed, different thread count");
        }
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(a.resolve(shards.get(0))),
                Files.readAllBytes(c.resolve(shards.get(0)))), "another seed gives other weights");
        assertTrue(Files.exists(a.resolve("model.safetensors.index.json")));
        assertTrue(Files.exists(a.resolve("tokenizer.json")));
        assertFalse(Files.exists(c.resolve("tokenizer.json")), "--no-tokenizer, no tokenizer files");
        try (FalconH1Model synth = FalconH1Model.load(a);
             FalconH1Model real = FalconH1Model.load(CliRun.shared("models/falcon-h1-tiny"))) {
            assertEquals(real.config().parameterCounts(), synth.config().parameterCounts());
            assertArrayEquals(real.multipliers().ssm(), synth.multipliers().ssm());
        }
        CliRun eval = CliRun.of("eval", a, "--data", CliRun.shared("corpus/valid.txt"), "--chunks", 1, "--json", "-q");
        assertEquals(0, eval.exitCode(), eval.describe());
        double ppl = eval.json().get("ppl").asDouble();
        // random weights: roughly uniform predictions over the 4096-token vocabulary
        assertTrue(ppl > 1000 && ppl < 20000, "ppl of a random model " + ppl);
        CliRun again = CliRun.of("synth", "--config", config, "-o", a, "-q");
        assertEquals(4, again.exitCode(), "an existing output without --force: " + again.describe());
    }
}
