package io.falconq.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * llama.cpp's own command-line tools, built by the tests/node scripts from node-llama-cpp's bundled source into one
 * folder of this test JVM (a script skips a binary it already built), and a way to run them.
 */
final class LlamaTools {
    private LlamaTools() {
    }

    /** Builds {@code binary} with tests/node/{@code script} and returns its path. */
    static synchronized Path build(String script, String binary) throws IOException, InterruptedException {
        Path path = LlamaCppLoadsIT.nodeHarness().resolveSibling(script);
        String out = run(List.of("bash", path.toString(), ConvertedGgufs.dir().resolve("llama-tools").toString()));
        String[] lines = out.strip().split("\n");
        Path bin = Path.of(lines[lines.length - 1]);
        assertEquals(binary, bin.getFileName().toString(), out);
        return bin;
    }

    /** Runs {@code command} to its end (10 minutes at most) and returns stdout and stderr together; fails unless it exits 0. */
    static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish");
        }
        String text = new String(output, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + text);
        return text;
    }
}
