package io.falconq.core.quant;

import java.nio.file.Files;
import java.nio.file.Path;

/** Files under the read-only ground truth ({@code falconq.shared}, set by surefire); missing data fails the test. */
final class SharedFiles {
    private SharedFiles() {
    }

    static Path llamacpp(String file) {
        String root = System.getProperty("falconq.shared");
        if (root == null) {
            throw new IllegalStateException("system property falconq.shared is not set (run the tests through Maven)");
        }
        Path p = Path.of(root, "llamacpp", file);
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("shared ground-truth file " + p + " is missing");
        }
        return p;
    }
}
