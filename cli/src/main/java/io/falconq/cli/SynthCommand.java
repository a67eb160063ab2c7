package io.falconq.cli;

import io.falconq.cli.progress.Progress;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.core.model.SyntheticCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** {@code falconq synth}: a random-initialised checkpoint with the shapes of any Falcon-H1 config. */
@Command(name = "synth",
        description = {"Write a random-initialised Hugging Face Falcon-H1 checkpoint (config.json, sharded safetensors, "
                + "index, tokenizer files) with the exact shapes of a config, e.g. ../shared/configs/falcon-h1-0.5b.json, "
                + "so every size can be exercised for speed and memory without downloading it. Values are a "
                + "deterministic function of --seed; the text it generates is noise."})
public final class SynthCommand extends JobCommand {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "A Falcon-H1 config.json.")
    private Path config;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Random seed (default ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--dtype", paramLabel = "bf16|f16|f32", defaultValue = "bf16",
            description = "Storage type of the weights (default ${DEFAULT-VALUE}).")
    private String dtype;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "Copy tokenizer.json, tokenizer_config.json and special_tokens_map.json from this folder. "
                    + "Default: the tiny model's, ../shared/models/falcon-h1-tiny (found through the falconq.shared "
                    + "system property or from the working directory), if present.")
    private Path tokenizer;

    @Option(names = "--no-tokenizer", description = "Write no tokenizer files.")
    private boolean noTokenizer;

    @Option(names = "--max-shard-size", paramLabel = "MiB", defaultValue = "2048",
            description = "Largest shard in MiB (default ${DEFAULT-VALUE}); one model.safetensors if everything fits.")
    private long maxShardMiB;

    /** The tiny model's folder, where the issue says synthetic checkpoints take their tokenizer from. */
    private static Path tinyModelTokenizer() {
        String shared = System.getProperty("falconq.shared");
        Path[] candidates = {shared == null ? null : Path.of(shared, "models", "falcon-h1-tiny"),
                Path.of("..", "shared", "models", "falcon-h1-tiny")};
        for (Path p : candidates) {
            if (p != null && Files.isRegularFile(p.resolve("tokenizer.json"))) {
                return p;
            }
        }
        return null;
    }

    @Override
    public Integer call() {
        Path requested = output.required("DIR");
        SafetensorsDtype type = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "bf16", "bfloat16" -> SafetensorsDtype.BF16;
            case "f16", "fp16", "float16" -> SafetensorsDtype.F16;
            case "f32", "fp32", "float32" -> SafetensorsDtype.F32;
            default -> throw new ParameterException(spec.commandLine(), "--dtype must be bf16, f16 or f32, found " + dtype);
        };
        if (maxShardMiB < 1) {
            throw new ParameterException(spec.commandLine(), "--max-shard-size must be at least 1 MiB");
        }
        Path out = output.checkWritableFolder(requested);
        PrintWriter err = spec.commandLine().getErr();
        Path tokenizerDir = noTokenizer ? null : tokenizer != null ? tokenizer : tinyModelTokenizer();
        long t0 = System.nanoTime();
        SyntheticCheckpoint.Summary s;
        try (Progress progress = progress("synth")) {
            s = SyntheticCheckpoint.write(config, out, seed, type, maxShardMiB << 20, tokenizerDir, output.force(),
                    threads.threads(), progress);
        }
        s.warnings().forEach(w -> err.println("warning: " + w));
        if (tokenizerDir == null) {
            err.println("note: no tokenizer written: eval/generate on this checkpoint need --tokenizer DIR");
        } else if (tokenizer == null) {
            err.println("synth: tokenizer files copied from " + tokenizerDir);
        }
        err.printf(Locale.ROOT, "synth: %,d parameters, %d shard(s), %.1f MiB in %.1f s -> %s%n", s.parameters(),
                s.shards(), s.bytes() / 1048576.0, (System.nanoTime() - t0) / 1e9, s.dir());
        err.flush();
        return ExitCodes.OK;
    }
}
