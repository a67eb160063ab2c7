package io.falconq.cli.pipeline;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.Sha256;
import io.falconq.core.model.FalconH1Config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * A model the pipeline works on: a Hugging Face checkpoint folder (everything can run), or a {@code config.json}
 * alone ({@code --config}; only a dry run can plan it, since there are no weights).
 *
 * @param name         short name for file names and headings: the folder's name, or the config file's name without
 *                     {@code .json}
 * @param path         the folder or config file as given
 * @param configOnly   true for {@code --config}
 * @param config       the validated config
 * @param configSha256 SHA-256 of the config.json bytes
 */
public record ModelInput(String name, Path path, boolean configOnly, FalconH1Config config, String configSha256) {

    public static ModelInput folder(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException(dir + ": not a folder (--model expects a Hugging Face checkpoint folder; "
                    + "use --config for a config.json alone)");
        }
        Path configJson = dir.resolve("config.json");
        if (!Files.isRegularFile(configJson)) {
            throw new InvalidInputException(dir + ": no config.json (not a Hugging Face checkpoint folder?)");
        }
        return new ModelInput(safeName(dir.toAbsolutePath().normalize().getFileName().toString()), dir, false,
                FalconH1Config.read(configJson), Sha256.ofFile(configJson));
    }

    public static ModelInput config(Path configJson) {
        if (!Files.isRegularFile(configJson)) {
            throw new InvalidInputException(configJson + ": no such config file");
        }
        String file = configJson.getFileName().toString();
        String stem = file.toLowerCase(Locale.ROOT).endsWith(".json") ? file.substring(0, file.length() - 5) : file;
        if (stem.equals("config")) {
            // a checkpoint's own config.json: the folder names the model
            Path parent = configJson.toAbsolutePath().normalize().getParent();
            stem = parent == null ? stem : parent.getFileName().toString();
        }
        return new ModelInput(safeName(stem), configJson, true, FalconH1Config.read(configJson),
                Sha256.ofFile(configJson));
    }

    /** Names become file and folder names inside dist: keep them to a portable character set. */
    static String safeName(String raw) {
        String safe = raw.replaceAll("[^A-Za-z0-9._+-]", "_");
        if (safe.isEmpty() || safe.startsWith(".")) {
            throw new InvalidInputException("model name \"" + raw + "\" cannot be used as a file name");
        }
        return safe;
    }

    /**
     * The checkpoint's own files (top level, not hidden): weights, config and tokenizer. Sub-folders such as a
     * {@code golden/} folder of test data are not part of the model and do not enter step keys.
     */
    public List<Path> contentFiles() {
        if (configOnly) {
            return List.of(path);
        }
        try (Stream<Path> files = Files.list(path)) {
            return files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().startsWith("."))
                    .sorted().toList();
        } catch (IOException e) {
            throw new InvalidInputException(path + ": cannot list: " + e.getMessage(), e);
        }
    }

    /** Every model file by content, into a step key. */
    void describe(StepKey.Builder key) {
        for (Path file : contentFiles()) {
            key.file("model/" + file.getFileName(), file);
        }
    }

    /** Weights in the checkpoint (every tensor's elements; lm_head counted once when untied). */
    public long parameterCount() {
        return config.parameterCounts().total();
    }
}
