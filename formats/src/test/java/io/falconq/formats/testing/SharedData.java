package io.falconq.formats.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** The read-only ground-truth folder ({@code falconq.shared}, set by surefire). Fails loudly when it is missing. */
public final class SharedData {
    private SharedData() {
    }

    public static Path root() {
        String p = System.getProperty("falconq.shared");
        if (p == null) {
            throw new IllegalStateException("system property falconq.shared is not set (run through Maven surefire)");
        }
        Path root = Path.of(p);
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("shared ground-truth folder " + root + " does not exist");
        }
        return root;
    }

    public static Path require(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            throw new IllegalStateException("shared file " + p + " is missing");
        }
        return p;
    }
}
