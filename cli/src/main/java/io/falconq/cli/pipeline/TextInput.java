package io.falconq.cli.pipeline;

import io.falconq.calibration.CalibrationSets;
import io.falconq.formats.io.Sha256;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * An evaluation or calibration text as the user named it ({@code builtin:en} or a file), its content and the
 * content's SHA-256, which goes into every step key that reads it.
 */
public record TextInput(String label, String text, String sha256) {

    /** {@code builtin:NAME} (a bundled set) or the path of a UTF-8 file, as {@code falconq calibrate --data} reads it. */
    public static TextInput read(String labelOrPath) {
        if (labelOrPath.startsWith(CalibrationSets.SCHEME)) {
            CalibrationSets set = CalibrationSets.find(labelOrPath).orElseThrow(() -> new InvalidInputException(
                    labelOrPath + ": no such bundled text (bundled: " + CalibrationSets.names() + ")"));
            byte[] bytes = set.bytes();
            return new TextInput(labelOrPath, new String(bytes, StandardCharsets.UTF_8), Sha256.of(bytes));
        }
        Path file = Path.of(labelOrPath);
        byte[] bytes = InputFiles.readAll(file, InputFiles.MAX_TEXT_BYTES);
        return new TextInput(labelOrPath, new String(bytes, StandardCharsets.UTF_8), Sha256.of(bytes));
    }
}
