package io.falconq.cli.options;

import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.text.HfTokenizer;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code --tokenizer DIR} for commands that tokenize text for the model they load. Add with
 * {@code @Mixin TokenizerOption tokenizer;}.
 */
public final class TokenizerOption {
    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "Folder with tokenizer.json (default: a GGUF's own tokenizer, or the model folder's).")
    private Path dir;

    /** The folder given, or null: the model's own tokenizer. */
    public Path dir() {
        return dir;
    }

    /** The tokenizer for {@code model}: {@code --tokenizer}'s if given, else the model's own. */
    public HfTokenizer load(FalconH1Model model) {
        return HfTokenizer.forModel(model, dir);
    }
}
