package io.falconq.cli.pipeline;

import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The variants a pipeline makes for every model, from {@code --variants Q8_0,Q4_K_M,w4-gptq} or from a file
 * ({@code --variants-file}): one or more comma-separated names per line, {@code #} starts a comment.
 */
public final class VariantList {
    private VariantList() {
    }

    public static List<VariantSpec> parse(String commaSeparated) {
        return parseLines(List.of(commaSeparated), "--variants");
    }

    public static List<VariantSpec> read(Path file) {
        return parseLines(InputFiles.readUtf8(file, InputFiles.MAX_TEXT_BYTES).lines().toList(), file.toString());
    }

    static List<VariantSpec> parseLines(List<String> lines, String source) {
        Map<String, VariantSpec> byName = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf('#');
            String content = hash >= 0 ? line.substring(0, hash) : line;
            for (String item : content.split(",")) {
                if (item.isBlank()) {
                    continue;
                }
                VariantSpec spec;
                try {
                    spec = VariantSpec.parse(item);
                } catch (InvalidInputException e) {
                    throw new InvalidInputException(source + (lines.size() > 1 ? ":" + (i + 1) : "") + ": "
                            + e.getMessage(), e);
                }
                if (byName.putIfAbsent(spec.name(), spec) != null) {
                    throw new InvalidInputException(source + (lines.size() > 1 ? ":" + (i + 1) : "")
                            + ": variant " + spec.name() + " is listed twice");
                }
            }
        }
        if (byName.isEmpty()) {
            throw new InvalidInputException(source + ": no variants listed");
        }
        return new ArrayList<>(byName.values());
    }
}
