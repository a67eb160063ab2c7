package io.falconq.cli;

import io.falconq.core.calib.ImportanceCollector;
import io.falconq.core.calib.ImportanceStats;
import io.falconq.calibration.CalibrationSets;
import io.falconq.cli.options.CalibrationDataOptions;
import io.falconq.cli.options.ChunkOptions;
import io.falconq.cli.options.TokenizerOption;
import io.falconq.cli.pipeline.CalibrationTokens;
import io.falconq.cli.pipeline.TextSources;
import io.falconq.cli.progress.Progress;
import io.falconq.formats.imatrix.ImatrixEntry;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;
import io.falconq.formats.imatrix.ImatrixWriter;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.runtime.FalconH1Model;
import io.falconq.jobs.imatrix.CalibrationRunner;
import io.falconq.runtime.text.HfTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code falconq calibrate}: llama.cpp-compatible importance matrix from calibration text. */
@Command(name = "calibrate",
        description = {
                "Run calibration text through the model and write an importance matrix (per input channel of every "
                        + "linear layer: sum of squared activations and token count) in llama.cpp's imatrix format, "
                        + "usable by llama-quantize --imatrix and falconq convert --imatrix.",
                "Protocol as llama-imatrix: ids = [BOS] + encode(text), whole chunks of --ctx tokens, each from an "
                        + "empty state with its first token set to BOS, every token counted."})
public final class CalibrateCommand extends JobCommand {
    @Parameters(index = "0", paramLabel = "MODEL", description = "Hugging Face model folder or GGUF file.")
    private Path model;

    @Mixin
    private CalibrationDataOptions calibration;

    @Mixin
    private ChunkOptions chunking;

    @Mixin
    private TokenizerOption tokenizer;

    @Option(names = "--process-output", description = "Also collect the LM head's input (llama-imatrix --process-output).")
    private boolean processOutput;

    @Option(names = "--in-file", paramLabel = "FILE",
            description = "Add the statistics of an existing imatrix (GGUF or legacy .dat), as llama-imatrix --in-file.")
    private List<Path> inFiles = new ArrayList<>();

    @Option(names = "--output-format", paramLabel = "gguf|dat", defaultValue = "gguf",
            description = "gguf (default) or the legacy dat format.")
    private String outputFormat;

    @Override
    public Integer call() {
        Path requested = output.required("FILE");
        chunking.check(16, "llama-imatrix ignores batches of fewer than 16 tokens");
        int ctx = chunking.ctx();
        if (!outputFormat.equals("gguf") && !outputFormat.equals("dat")) {
            throw new ParameterException(spec.commandLine(), "--output-format must be gguf or dat, found " + outputFormat);
        }
        Path out = output.checkWritable(requested);
        TextSources data = calibration.sources(null);
        PrintWriter err = spec.commandLine().getErr();

        ImportanceCollector collector = new ImportanceCollector(processOutput);
        List<String> datasets = new ArrayList<>();
        for (Path f : inFiles) {
            ImatrixFile prev = ImatrixReader.read(f);
            datasets.addAll(prev.datasets());
            collector.mergeAll(asStats(prev, ctx));
        }
        datasets.add(data.label());

        CalibrationRunner.Summary summary;
        CalibrationTokens tokens;
        try (FalconH1Model m = FalconH1Model.load(model)) {
            try (HfTokenizer tok = tokenizer.load(m)) {
                tokens = calibration.tokens(data, tok, ctx, chunking.chunks());
            }
            err.printf("calibrate: %s, %d chunks of %d%s%n", data.label(), tokens.sequences().length, ctx,
                    tokens.report().sampled() ? " sampled with seed " + calibration.seed() + ": "
                            + languageCounts(tokens) : "");
            err.flush();
            try (Progress progress = progress("calibrate")) {
                summary = CalibrationRunner.run(m, threads.threads(), tokens.stream(), tokens.bos(), ctx,
                        tokens.sequences().length, collector, progress);
            }
        }
        List<ImatrixEntry> entries = collector.imatrixEntries();
        int chunkCount = collector.chunkCount(ctx);
        if (outputFormat.equals("gguf")) {
            ImatrixWriter.writeGguf(out, datasets, chunkCount, ctx, tokens.imatrixMetadata(), entries, output.force());
        } else {
            ImatrixWriter.writeLegacy(out, data.label(), chunkCount, ctx, entries, output.force());
        }
        err.printf("calibrate: %d chunks, %d tokens in %.1f s (%.0f tokens/s); %d tensors -> %s%n", summary.chunks(),
                summary.tokens(), summary.seconds(), summary.tokensPerSecond(), entries.size(), out);
        err.flush();
        return ExitCodes.OK;
    }

    /** "en 4, de 4, …": sequences per language of a mix. */
    static String languageCounts(CalibrationTokens tokens) {
        return String.join(", ", tokens.report().languages().stream()
                .map(l -> l.language() + " " + l.sequences() + (l.exhausted() ? " (text exhausted)" : "")).toList());
    }

    /** The calibration text named by {@code --data}. */
    static String readText(String data) {
        if (data.startsWith(CalibrationSets.SCHEME)) {
            return CalibrationSets.find(data).orElseThrow(() -> new InvalidInputException("--data " + data
                    + ": no such bundled set (bundled: " + CalibrationSets.names() + ")")).text();
        }
        return InputFiles.readUtf8(Path.of(data), InputFiles.MAX_TEXT_BYTES);
    }

    /** An imatrix file as raw sums and counts, as llama-imatrix's {@code load_imatrix} reconstructs them. */
    static Map<String, ImportanceStats> asStats(ImatrixFile f, int chunkSize) {
        Map<String, ImportanceStats> out = new java.util.TreeMap<>();
        for (ImatrixEntry e : f.entries().values()) {
            if (e.counts().length != 1) {
                throw new InvalidInputException(f.path() + ": " + e.name() + " has " + e.counts().length
                        + " matrices (MoE); Falcon-H1 has dense weights only");
            }
            float[] sums = e.sums();
            long count = e.counts()[0];
            if (f.legacy()) {
                // legacy stores (sum/count)·ncall and ncall: raw form = values·chunk_size, count = ncall·chunk_size
                for (int i = 0; i < sums.length; i++) {
                    sums[i] *= chunkSize;
                }
                count *= chunkSize;
            }
            out.put(e.name(), ImportanceStats.ofSums(e.name(), sums, count));
        }
        return out;
    }
}
