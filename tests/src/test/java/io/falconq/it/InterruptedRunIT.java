package io.falconq.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 19: a run ended by SIGTERM (CI cancelling a job) or SIGINT (Ctrl-C) removes its own partial outputs and
 * exits 143 or 130, in a separate JVM that gets the signal once its partial output exists.
 */
class InterruptedRunIT {
    @TempDir
    Path out;

    @Test
    void sigtermDuringSynthRemovesThePartialFolder() throws Exception {
        Path config = CliRun.shared("configs/falcon-h1-0.5b.json");
        interruptOnceWriting("TERM", 143, "synth", "--config", config, "--no-tokenizer", "-t", "1", "-o",
                out.resolve("result"));
    }

    @Test
    void sigintDuringEvalRemovesThePartialLogits() throws Exception {
        interruptOnceWriting("INT", 130, "eval", HostileFixture.TINY, "--data", HostileFixture.VALID, "-t", "1",
                "--save-logits", out.resolve("result.logits"));
    }

    private void interruptOnceWriting(String signal, int expectedExit, Object... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), "io.falconq.cli.FalconqCli"));
        for (Object a : args) {
            command.add(String.valueOf(a));
        }
        Process process = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!hasPartial() && process.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(hasPartial(), "the run never had a partial output (ended with " + (process.isAlive() ? "none"
                    : process.exitValue()) + ")");
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor());
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the interrupted run did not end");
            assertEquals(expectedExit, process.exitValue());
            try (Stream<Path> left = Files.list(out)) {
                assertEquals(List.of(), left.toList(), "the run's partial output is removed, nothing else written");
            }
        } finally {
            process.destroyForcibly();
        }
    }

    private boolean hasPartial() throws IOException {
        try (Stream<Path> list = Files.list(out)) {
            return list.anyMatch(p -> p.getFileName().toString().contains(".partial-"));
        }
    }
}
