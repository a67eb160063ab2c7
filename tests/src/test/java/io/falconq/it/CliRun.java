package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.falconq.cli.FalconqCli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One run of {@code falconq} through {@link FalconqCli#run}, as a user would see it: exit code, stdout, stderr. */
record CliRun(int exitCode, String out, String err) {
    private static final ObjectMapper JSON = new ObjectMapper();

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
        String root = System.getProperty("falconq.shared");
        if (root == null) {
            throw new IllegalStateException("system property falconq.shared is not set (run through Maven surefire)");
        }
        Path p = Path.of(root).resolve(relative);
        if (!Files.exists(p)) {
            throw new IllegalStateException("shared ground truth " + p + " is missing");
        }
        return p;
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
