package io.falconq.runtime;

import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorSource;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;

/**
 * A loaded Falcon-H1 model: its config, its weights (memory-mapped, not copied), the µP multipliers the forward
 * pass must still apply, and the file(s) behind them. Close it to unmap the weights.
 *
 * <p>{@link #load(Path)} accepts a Hugging Face checkpoint folder (config.json + model.safetensors or shards) or a
 * llama.cpp GGUF file with F32/F16/BF16 tensors.
 */
public final class FalconH1Model implements AutoCloseable {

    /** Where the weights came from; decides which multipliers are folded, and how tensors are named and shaped. */
    public enum Format {
        /** A Hugging Face checkpoint: its names and shapes (SPEC.md §1.2). */
        HF_SAFETENSORS,
        /** A llama.cpp GGUF: its names and the converter's shapes (GGUF-NOTES.md §3.2). */
        GGUF;

        /** The stored name of {@code role}'s tensor in {@code layer} (-1 for a model-level tensor). */
        String tensorName(TensorRole role, int layer) {
            return this == GGUF ? role.ggufName(layer) : role.hfName(layer);
        }

        /** The shape of {@code role}'s tensor in this format, PyTorch order. */
        long[] shape(TensorRole role, FalconH1Config c) {
            return this == GGUF ? role.convertedShape(c) : role.hfShape(c);
        }
    }

    private final FalconH1Config config;
    private final FalconH1Weights weights;
    private final Multipliers multipliers;
    private final Format format;
    private final Path path;
    private final Path tokenizerDir;
    private final TensorSource source;

    FalconH1Model(FalconH1Config config, FalconH1Weights weights, Multipliers multipliers, Format format, Path path,
                  Path tokenizerDir, TensorSource source) {
        this.config = config;
        this.weights = weights;
        this.multipliers = multipliers;
        this.format = format;
        this.path = path;
        this.tokenizerDir = tokenizerDir;
        this.source = source;
    }

    /** Loads an HF checkpoint folder, or a {@code .gguf} file (recognised by its magic). */
    public static FalconH1Model load(Path path) {
        if (Files.isDirectory(path)) {
            return closingOnFailure(HfCheckpoint.open(path), ckpt -> HfModelLoader.load(ckpt, path));
        }
        if (!Files.isRegularFile(path)) {
            throw new InvalidInputException(path + ": no such model folder or file");
        }
        if (GgufReader.startsWithMagic(path)) {
            return closingOnFailure(GgufReader.open(path), gguf -> GgufModelLoader.load(gguf, path));
        }
        if (path.getFileName().toString().endsWith(".safetensors")) {
            return closingOnFailure(HfCheckpoint.open(path), ckpt -> HfModelLoader.load(ckpt, path));
        }
        throw new InvalidInputException(path + ": neither a Hugging Face checkpoint folder nor a GGUF file");
    }

    /** The model a loader builds over {@code file}, which the model then owns; the file is closed if that fails. */
    private static <F extends TensorSource> FalconH1Model closingOnFailure(F file, Function<F, FalconH1Model> loader) {
        try {
            return loader.apply(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public FalconH1Config config() {
        return config;
    }

    public FalconH1Weights weights() {
        return weights;
    }

    public Multipliers multipliers() {
        return multipliers;
    }

    public Format format() {
        return format;
    }

    /** The folder or file this model was loaded from. */
    public Path path() {
        return path;
    }

    /** The folder holding tokenizer.json / tokenizer_config.json, if known. */
    public Optional<Path> tokenizerDir() {
        return Optional.ofNullable(tokenizerDir);
    }

    /** The tensors behind the weights: for {@link Format#HF_SAFETENSORS} the checkpoint folder itself. */
    public TensorSource source() {
        return source;
    }

    @Override
    public void close() {
        source.close();
    }
}
