package io.falconq.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 19: a run ended by SIGTERM (CI cancelling a job) or SIGINT (Ctrl-C) removes its own partial outputs and
 * exits 143 or 130, in a separate JVM that gets the signal once its partial output exists; a resumable job's
 * partial folder is the exception, kept for the next run.
 */
class InterruptedRunIT {
    private static final Path STDERR = Path.of("target", "interrupted-run.stderr");

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

    @Test
    void sigtermDuringConvertRemovesThePartialGguf() throws Exception {
        interruptOnceWriting("TERM", 143, "convert", HostileFixture.TINY, "--type", "Q2_K", "--imatrix",
                HostileFixture.IMATRIX, "-t", "1", "-o", out.resolve("result.gguf"));
    }

    /**
     * A quantize job's partial folder is resumable (AtomicFolder.resume), so SIGTERM keeps it: exit 143, no output,
     * the partial left for the next run, which adopts it and commits the folder (same bytes: IntQuantJobIT).
     */
    @Test
    void sigtermDuringQuantizeKeepsTheResumableJobForTheNextRun() throws Exception {
        Object[] args = {"quantize", HostileFixture.TINY, "--scheme", "w4", "--method", "gptq", "--chunks", "4",
                "-t", "1", "-o", out.resolve("result")};
        Process process = start(args);
        try {
            awaitPartial(process);
            signal(process, "TERM");
            assertEquals(143, process.exitValue());
            try (Stream<Path> left = Files.list(out)) {
                List<String> names = left.map(p -> p.getFileName().toString()).toList();
                assertEquals(1, names.size(), names.toString());
                assertTrue(names.get(0).startsWith("result.partial-"), names.toString());
            }
        } finally {
            process.destroyForcibly();
        }
        CliRun again = CliRun.of(args);
        assertEquals(0, again.exitCode(), again.describe());
        try (Stream<Path> left = Files.list(out)) {
            assertEquals(List.of("result"), left.map(p -> p.getFileName().toString()).toList());
        }
    }

    private void interruptOnceWriting(String signal, int expectedExit, Object... args) throws Exception {
        Process process = start(args);
        try {
            awaitPartial(process);
            signal(process, signal);
            assertEquals(expectedExit, process.exitValue());
            try (Stream<Path> left = Files.list(out)) {
                assertEquals(List.of(), left.toList(), "the run's partial output is removed, nothing else written");
            }
        } finally {
            process.destroyForcibly();
        }
    }

    private static Process start(Object... args) throws IOException {
        List<String> command = CliRun.javaCommand(List.of("-Xmx1g"), args);
        return new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(STDERR.toFile()).start();
    }

    private void awaitPartial(Process process) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!hasPartial() && process.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(hasPartial(), () -> "the run never had a partial output (ended with " + (process.isAlive() ? "none"
                : process.exitValue()) + "); stderr:\n" + stderr());
    }

    private static String stderr() {
        try {
            return Files.readString(STDERR);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static void signal(Process process, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor());
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the interrupted run did not end");
    }

    private boolean hasPartial() throws IOException {
        try (Stream<Path> list = Files.list(out)) {
            return list.anyMatch(p -> p.getFileName().toString().contains(".partial-"));
        }
    }
}
