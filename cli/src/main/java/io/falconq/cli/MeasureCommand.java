package io.falconq.cli;

import io.falconq.cli.options.ChunkOptions;
import io.falconq.cli.progress.Progress;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;
import io.falconq.jobs.sensitivity.SensitivityCost;
import io.falconq.jobs.sensitivity.SensitivityJob;
import io.falconq.core.model.FalconH1Config;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.text.HfTokenizer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code falconq measure}: per-tensor, per-type ΔKLD for the allocator ({@code sensitivity.json}). */
@Command(name = "measure", defaultValueProvider = MeasureCommand.ChunksDefault.class,
        description = {
                "Measure what quantizing each tensor alone to each candidate type costs: the increase in mean KL "
                        + "divergence of the next-token distribution against the unquantized (F32) model, on "
                        + "calibration text, written as sensitivity.json for convert --target-size/--target-bpw.",
                "Each candidate is encoded exactly as convert/requantize would write it (same codec, µP folding, "
                        + "imatrix, llama-quantize's fallbacks: the keys are the concrete types) and swapped into "
                        + "the forward pass, which re-runs only the layers downstream of the tensor from cached "
                        + "residual streams. Chunks as llama-perplexity cuts them (BOS first, positions ctx/2 … "
                        + "ctx−2 scored). Resumable: a killed run continues at the first unmeasured tensor."})
public final class MeasureCommand extends JobCommand {
    @Parameters(index = "0", paramLabel = "MODEL", description = "Hugging Face model folder or F32/F16/BF16 GGUF; "
            + "with --dry-run also a config.json alone.")
    private Path model;

    @Option(names = "--data", paramLabel = "TEXT",
            description = "Measurement text: builtin:NAME or a UTF-8 file. Not the text you evaluate on.")
    private String data;

    @Option(names = "--imatrix", paramLabel = "FILE",
            description = "Importance matrix the types that use one are quantized with (as convert --imatrix).")
    private Path imatrix;

    @Option(names = "--types", paramLabel = "T,T…", split = ",",
            description = "Candidate types (default: Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0,F16).")
    private List<String> types;

    /** {@code --chunks} defaults to {@value SensitivityJob#DEFAULT_CHUNKS} here ({@link ChunksDefault}), not all. */
    @Mixin
    private ChunkOptions chunking;

    @Option(names = "--method", paramLabel = "direct|probe|layer-gain", defaultValue = "direct",
            description = "direct (default): every tensor × type measured end to end, exact. probe: per tensor "
                    + "two types end to end (the largest imatrix-weighted weight error and one a third down), the "
                    + "others on the power law through them: 3.5× cheaper with the default 7 types, and on the tiny "
                    + "model it ranks the direct values with Spearman 0.99; the mode for 1.5B and up. layer-gain: "
                    + "per layer two pairs end to end, the rest from their error at the layer's output; cheapest, "
                    + "but it ranks poorly (Spearman 0.84): a first look only. Costs: --dry-run; BENCHMARKS.md, "
                    + "issue 15.")
    private String method;

    @Option(names = "--dry-run", description = "Print the measurement's cost (runs, time, disk, memory) and measure nothing.")
    private boolean dryRun;

    @Override
    public Integer call() {
        chunking.check(4, null);
        int ctx = chunking.ctx();
        int chunks = chunking.chunks();
        List<GgmlType> candidates = parseTypes();
        SensitivityJob.Method how = SensitivityJob.Method.ofLabel(method).orElseThrow(() -> new ParameterException(
                spec.commandLine(), "--method must be " + SensitivityJob.Method.labels() + ", found " + method));
        if (dryRun) {
            printPlan(candidates, how);
            return ExitCodes.OK;
        }
        Path requested = output.required("FILE");
        if (data == null) {
            throw new ParameterException(spec.commandLine(), "missing --data TEXT");
        }
        Path out = output.checkWritable(requested);
        ImatrixFile im = imatrix == null ? null : ImatrixReader.read(imatrix);
        String text = CalibrateCommand.readText(data);
        int[] ids;
        int bos;
        try (FalconH1Model m = FalconH1Model.load(model);
             HfTokenizer tok = HfTokenizer.forModel(m, null)) {
            ids = tok.encodeForModel(text);
            bos = tok.addedBosId();
        }
        PrintWriter err = spec.commandLine().getErr();
        err.printf("measure: %s, %d tokens of %s, %d chunks of %d, types %s%n", model, ids.length, data,
                SensitivityJob.windows(ids, bos, ctx, chunks).size(), ctx, candidates);
        err.flush();
        SensitivityJob.Options opt = new SensitivityJob.Options(candidates, im,
                imatrix == null ? null : imatrix.toString(), ctx, chunks, threads.threads(), how);
        SensitivityJob.Report report;
        try (Progress progress = progress("measure")) {
            report = SensitivityJob.run(model, data, ids, bos, opt, out, output.force(), progress);
        }
        err.printf(Locale.ROOT, "measure: %d tensors%s, %d scored tokens, in %.1f s -> %s%n",
                report.table().tensors().size(),
                report.tensorsResumed() > 0 ? " (" + report.tensorsResumed() + " from an interrupted run)" : "",
                report.scoredTokens(), report.seconds(), out);
        err.flush();
        return ExitCodes.OK;
    }

    /** Gives {@link ChunkOptions}' {@code --chunks} measure's own default, {@value SensitivityJob#DEFAULT_CHUNKS}. */
    public static final class ChunksDefault implements CommandLine.IDefaultValueProvider {
        @Override
        public String defaultValue(ArgSpec arg) {
            return arg instanceof OptionSpec o && o.longestName().equals("--chunks") ? String.valueOf(SensitivityJob.DEFAULT_CHUNKS)
                    : null;
        }
    }

    private List<GgmlType> parseTypes() {
        if (types == null || types.isEmpty()) {
            return SensitivityJob.defaultTypes();
        }
        List<GgmlType> out = new ArrayList<>();
        for (String t : types) {
            GgmlType type;
            try {
                type = GgmlType.valueOf(t.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--types: unknown type \"" + t + "\"");
            }
            if (!SensitivityJob.isCandidate(type)) {
                throw new ParameterException(spec.commandLine(), "--types: " + type + " is not a type llama-quantize "
                        + "writes as a file type's base (e.g. Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_0, Q4_0, IQ4_NL, F16)");
            }
            if (!out.contains(type)) {
                out.add(type);
            }
        }
        return out;
    }

    /** {@link SensitivityCost#plan} for the model's (or config's) sizes. */
    private void printPlan(List<GgmlType> candidates, SensitivityJob.Method how) {
        Path configPath = Files.isDirectory(model) ? model.resolve("config.json") : model;
        FalconH1Config c;
        if (configPath.getFileName().toString().endsWith(".json")) {
            c = FalconH1Config.read(configPath);
        } else {
            try (FalconH1Model m = FalconH1Model.load(model)) {
                c = m.config();
            }
        }
        int ctx = chunking.ctx();
        int n = chunking.chunks() > 0 ? chunking.chunks() : SensitivityJob.DEFAULT_CHUNKS;
        SensitivityCost.Plan p = SensitivityCost.plan(c, candidates, how, n, ctx, threads.threads());
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "measure plan: %d layers, hidden %d, vocab %d; %d chunks of %d (%d tokens run, "
                        + "%d scored); types %s; method %s%n", c.numLayers(), c.hiddenSize(), c.vocabSize(), n, ctx,
                (long) n * ctx, (long) n * EvalProtocol.LLAMA_CPP.scoredPerWindow(ctx), candidates, how.label());
        out.printf(Locale.ROOT, "  tensors, end-to-end runs   %d tensors, %d measured end to end%n", p.tensors(), p.measurements());
        out.printf(Locale.ROOT, "  layer-token runs           %.3g%n", p.layerTokenRuns());
        out.printf(Locale.ROOT, "  head-token runs            %.3g%n", p.headTokenRuns());
        out.printf(Locale.ROOT, "  multiply-adds              %.3g%n", p.macs());
        out.printf(Locale.ROOT, "  reference cache (disk)     %.2f GiB%n", p.diskBytes() / (double) (1L << 30));
        out.printf(Locale.ROOT, "  heap beyond mapped weights %.2f GiB%n",
                SensitivityCost.heapBytes(c, n, ctx) / (double) (1L << 30));
        out.printf(Locale.ROOT, "  time                       %.2f h wall with %d threads (%.1f CPU-hours = %.0f CPU-s)%n",
                p.wallSeconds() / 3600, threads.threads(), p.cpuSeconds() / 3600, p.cpuSeconds());
        out.flush();
    }
}
