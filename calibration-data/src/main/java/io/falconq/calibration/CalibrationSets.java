package io.falconq.calibration;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * Calibration texts bundled in this jar, addressed as {@code builtin:NAME}. Provenance and licences are in
 * {@code io/falconq/calibration/SOURCES.md} beside the files.
 */
public enum CalibrationSets {
    EN("en", "English", "en.txt", "642f3e9a73bb31f3c7cd78a4223b2269f1ce6037da3ed564ede060569e4a0341",
            "KJV chapters and The Devil's Dictionary (= shared/corpus/calib.txt), public domain"),
    ES("es", "Spanish", "es.txt", "98eb7bbd55ba5933464c818828b6a16e7c1306db5bc7623c0aa1f841a9f42230",
            "Reina-Valera 1909 (Debian sword-text-sparv), public domain");

    /** Prefix of a bundled set in {@code --data}. */
    public static final String SCHEME = "builtin:";

    private final String id;
    private final String language;
    private final String resource;
    private final String sha256;
    private final String description;

    CalibrationSets(String id, String language, String resource, String sha256, String description) {
        this.id = id;
        this.language = language;
        this.resource = resource;
        this.sha256 = sha256;
        this.description = description;
    }

    public String id() {
        return id;
    }

    public String language() {
        return language;
    }

    /** Expected SHA-256 of the UTF-8 bytes, lower-case hex. */
    public String sha256() {
        return sha256;
    }

    public String description() {
        return description;
    }

    /** {@code builtin:<id>}. */
    public String address() {
        return SCHEME + id;
    }

    public byte[] bytes() {
        try (InputStream in = CalibrationSets.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("bundled calibration set " + resource + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String text() {
        return new String(bytes(), StandardCharsets.UTF_8);
    }

    /** The set named by {@code builtin:NAME} (or just NAME), if bundled. */
    public static Optional<CalibrationSets> find(String nameOrAddress) {
        String n = nameOrAddress.startsWith(SCHEME) ? nameOrAddress.substring(SCHEME.length()) : nameOrAddress;
        String key = n.toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(s -> s.id.equals(key)).findFirst();
    }

    /** "en, es": for error messages and help. */
    public static String names() {
        return String.join(", ", Arrays.stream(values()).map(CalibrationSets::id).toList());
    }
}
