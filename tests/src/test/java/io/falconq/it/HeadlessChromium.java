package io.falconq.it;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs the system's Chromium headless on a local file: a DOM dump after load, or a screenshot. Installed on CI with
 * {@code apt-get install -y chromium}; its path can be overridden with {@code -Dfalconq.chromium=…}. Missing
 * Chromium fails the test with that hint rather than skipping it.
 */
final class HeadlessChromium {
    private static final long TIMEOUT_SECONDS = 90;

    private final Path executable;
    private final Path workDir;

    HeadlessChromium(Path workDir) {
        this.executable = find();
        this.workDir = workDir;
    }

    static Path find() {
        String configured = System.getProperty("falconq.chromium");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        return fail("headless Chromium is needed to check the HTML report: install it with "
                + "`apt-get install -y chromium` or pass -Dfalconq.chromium=/path/to/chrome");
    }

    /** The DOM after the page's load event, as Chromium serialises it. */
    String dumpDom(Path html) throws IOException, InterruptedException {
        Path out = workDir.resolve("dom.html");
        run(List.of("--dump-dom", html.toUri().toString()), out);
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    /** A PNG screenshot of the page in a window of the given size. */
    Path screenshot(Path html, int width, int height) throws IOException, InterruptedException {
        Path png = workDir.resolve("screenshot.png");
        run(List.of("--screenshot=" + png, "--window-size=" + width + "," + height, html.toUri().toString()), null);
        if (!Files.isRegularFile(png)) {
            fail("Chromium wrote no screenshot; its log: " + Files.readString(workDir.resolve("chromium.log")));
        }
        return png;
    }

    private void run(List<String> args, Path stdout) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(workDir, "profile");
        List<String> command = new ArrayList<>(List.of(executable.toString(), "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(workDir.resolve("chromium.log").toFile());
        builder.redirectOutput(stdout == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.to(stdout.toFile()));
        Process process = builder.start();
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("Chromium did not finish within " + TIMEOUT_SECONDS + " s: " + command);
        }
        if (process.exitValue() != 0) {
            fail("Chromium exited with " + process.exitValue() + ": " + command + "\n"
                    + Files.readString(workDir.resolve("chromium.log")));
        }
    }
}
