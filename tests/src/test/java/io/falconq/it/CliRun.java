package io.falconq.it;

import io.falconq.formats.testing.SharedGroundTruth;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.falconq.cli.FalconqCli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One run of {@code falconq} through {@link FalconqCli#run}, as a user would see it: exit code, stdout, stderr. */
record CliRun(int exitCode, String out, String err) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The launcher's JVM flags (a java argument file); surefire runs this module's tests from {@code tests/}. */
    private static final Path JVM_FLAGS =
            Path.of("").toAbsolutePath().getParent().resolve("cli/src/main/jvm/runtime.args");

    static CliRun of(Object... args) {
        String[] strings = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            strings[i] = String.valueOf(args[i]);
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new FalconqCli().run(new PrintWriter(out), new PrintWriter(err), strings);
        return new CliRun(code, out.toString(), err.toString());
    }

    /**
     * The same command line in a JVM of its own, started with the launcher's JVM flags under GNU time, so its peak
     * resident memory is measured: returns the run and sets {@code maxRssKb[0]}. The launcher's incubator-module
     * warning is dropped from stderr, as the launcher drops it.
     */
    static CliRun forked(long[] maxRssKb, Object... args) throws IOException, InterruptedException {
        return forked(List.of(), maxRssKb, args);
    }

    /** {@link #forked(long[], Object...)} in a JVM started with {@code jvmFlags} as well. */
    static CliRun forked(List<String> jvmFlags, long[] maxRssKb, Object... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("/usr/bin/time", "-f", RSS_TAG + "%M"));
        command.addAll(javaCommand(jvmFlags, args));
        Path dir = Files.createTempDirectory("falconq-forked");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(dir.resolve("out").toFile())
                    .redirectError(dir.resolve("err").toFile()).start();
            int code = p.waitFor();
            StringBuilder err = new StringBuilder();
            for (String line : Files.readAllLines(dir.resolve("err"))) {
                if (line.startsWith(RSS_TAG)) {
                    maxRssKb[0] = Long.parseLong(line.substring(RSS_TAG.length()).trim());
                } else if (!line.equals("WARNING: Using incubator modules: jdk.incubator.vector")) {
                    err.append(line).append('\n');
                }
            }
            return new CliRun(code, Files.readString(dir.resolve("out")), err.toString());
        } finally {
            for (String f : new String[] {"out", "err"}) {
                Files.deleteIfExists(dir.resolve(f));
            }
            Files.delete(dir);
        }
    }

    /**
     * {@code falconq ARGS} as a command line for a JVM of its own, with the launcher's JVM flags, the test's class path
     * and {@code jvmFlags}.
     */
    static List<String> javaCommand(List<String> jvmFlags, Object... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + JVM_FLAGS));
        command.addAll(jvmFlags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), FalconqCli.class.getName()));
        for (Object a : args) {
            command.add(String.valueOf(a));
        }
        return command;
    }

    /**
     * {@code falconq ARGS} in a JVM of its own ({@link #javaCommand}), killed without warning (SIGKILL: no shutdown
     * hook, no finally block) at the first stderr line {@code killAt} accepts. Fails the test when the run ends before
     * such a line (with its stderr) or does not exit within a minute of the kill.
     */
    static void killedAt(Predicate<String> killAt, List<String> jvmFlags, Object... args)
            throws IOException, InterruptedException {
        Process process = new ProcessBuilder(javaCommand(jvmFlags, args)).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        List<String> log = new ArrayList<>();
        boolean killed = false;
        try (BufferedReader err = process.errorReader(StandardCharsets.UTF_8)) {
            String line;
            while (!killed && (line = err.readLine()) != null) {
                log.add(line);
                if (killAt.test(line)) {
                    process.destroyForcibly();
                    killed = true;
                }
            }
        }
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the killed run did not exit");
        assertTrue(killed, () -> "the run ended before the kill:\n" + String.join("\n", log));
    }

    /**
     * A resumable command interrupted and run again: {@code falconq ARGS -v} (every progress step as a line) in a JVM
     * of its own is {@link #killedAt killed} at the first stderr line containing {@code killAt} and must leave
     * nothing at {@code output}; then the same command runs to its end in this JVM and must exit 0 and leave no
     * partial file or folder beside {@code output}. Returns that second run.
     */
    static CliRun killedAndResumed(String killAt, Path output, List<Object> args) throws IOException, InterruptedException {
        List<Object> verbose = new ArrayList<>(args);
        verbose.add("-v");
        killedAt(line -> line.contains(killAt), List.of("-Xmx1g"), verbose.toArray());
        assertFalse(Files.exists(output), "a killed run must not leave the output in place");
        CliRun resumed = of(args.toArray());
        assertEquals(0, resumed.exitCode(), resumed.describe());
        try (Stream<Path> siblings = Files.list(output.getParent())) {
            assertTrue(siblings.noneMatch(p -> p.getFileName().toString().contains(".partial-")),
                    "the resumed run adopted the partial output and left none behind");
        }
        return resumed;
    }

    private static final String RSS_TAG = "falconq-forked-max-rss-kb ";

    /** stdout as JSON; fails the test with stderr when it is not. */
    JsonNode json() {
        try {
            return JSON.readTree(out);
        } catch (IOException e) {
            throw new AssertionError("stdout is not JSON (" + e.getMessage() + "); stderr:\n" + err + "\nstdout:\n" + out);
        }
    }

    String describe() {
        return "exit " + exitCode + "\n--- stderr:\n" + err + "--- stdout:\n" + out;
    }

    /** The read-only ground truth ({@code falconq.shared}, set by surefire); fails loudly when absent. */
    static Path shared(String relative) {
        return SharedGroundTruth.path(relative);
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
