package io.falconq.formats.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The read-only ground truth beside the repository ({@code ../shared}: models, llama.cpp's files, corpus, configs),
 * as the tests of every module find it: the build passes its path as the system property {@value #PROPERTY}. A
 * missing folder or file fails the test loudly instead of skipping it.
 */
public final class SharedGroundTruth {
    public static final String PROPERTY = "falconq.shared";

    private SharedGroundTruth() {
    }

    /** The shared folder itself. */
    public static Path root() {
        String root = System.getProperty(PROPERTY);
        if (root == null) {
            throw new IllegalStateException("system property " + PROPERTY + " is not set (run the tests through Maven)");
        }
        Path dir = Path.of(root);
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("shared ground-truth folder " + dir.toAbsolutePath() + " is missing");
        }
        return dir;
    }

    /** A file or folder inside it, which must exist. */
    public static Path path(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            throw new IllegalStateException("shared ground truth " + p + " is missing");
        }
        return p;
    }
}
