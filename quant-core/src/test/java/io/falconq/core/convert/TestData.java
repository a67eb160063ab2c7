package io.falconq.core.convert;

import io.falconq.formats.testing.SharedGroundTruth;
import java.nio.file.Files;
import java.nio.file.Path;

/** The read-only ground truth ({@code falconq.shared}, set by surefire); tests fail loudly when it is missing. */
public final class TestData {
    private TestData() {
    }

    public static Path shared(String relative) {
        return SharedGroundTruth.path(relative);
    }

    static Path tinyModel() {
        return shared("models/falcon-h1-tiny");
    }

    static Path llamacpp(String file) {
        return shared("llamacpp/" + file);
    }
}
