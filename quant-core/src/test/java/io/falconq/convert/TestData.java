package io.falconq.convert;

import java.nio.file.Files;
import java.nio.file.Path;

/** The read-only ground truth ({@code falconq.shared}, set by surefire); tests fail loudly when it is missing. */
public final class TestData {
    private TestData() {
    }

    public static Path shared(String relative) {
        String root = System.getProperty("falconq.shared");
        if (root == null) {
            throw new IllegalStateException("system property falconq.shared is not set (run the tests through Maven)");
        }
        Path p = Path.of(root).resolve(relative);
        if (!Files.exists(p)) {
            throw new IllegalStateException("shared ground-truth file " + p + " is missing");
        }
        return p;
    }

    static Path tinyModel() {
        return shared("models/falcon-h1-tiny");
    }

    static Path llamacpp(String file) {
        return shared("llamacpp/" + file);
    }
}
