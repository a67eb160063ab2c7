package io.falconq.cli;

import io.falconq.cli.options.CalibrationDataOptions;
import io.falconq.cli.options.CountLimits;
import io.falconq.cli.options.DampOption;
import io.falconq.cli.options.ChunkOptions;
import io.falconq.cli.options.ProtocolOption;
import io.falconq.cli.options.GgufSplitOptions;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.io.OutputGuard;
import io.falconq.cli.options.OutputPath;
import io.falconq.cli.options.ThreadsOption;
import io.falconq.cli.options.VerbosityMixin;
import io.falconq.cli.pipeline.ContentHashes;
import io.falconq.cli.pipeline.DryRunPlanner;
import io.falconq.cli.pipeline.ModelInput;
import io.falconq.cli.pipeline.PipelineEvent;
import io.falconq.cli.pipeline.PipelinePlan;
import io.falconq.cli.pipeline.PipelineRunner;
import io.falconq.cli.pipeline.PipelineSettings;
import io.falconq.cli.pipeline.PipelineStep;
import io.falconq.cli.pipeline.StepRecord;
import io.falconq.cli.pipeline.TextSources;
import io.falconq.cli.pipeline.VariantList;
import io.falconq.cli.pipeline.VariantSpec;
import io.falconq.cli.progress.Progress;
import io.falconq.cli.report.HtmlReport;
import io.falconq.cli.report.Manifest;
import io.falconq.cli.report.MarkdownReport;
import io.falconq.cli.report.Report;
import io.falconq.cli.report.ReportClock;
import io.falconq.cli.pipeline.PublishFolders;
import io.falconq.cli.report.ReportFiles;
import io.falconq.cli.report.ReportJson;
import io.falconq.formats.io.OutputException;
import io.falconq.runtime.eval.EvalProtocol;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import io.falconq.jobs.sensitivity.SensitivityJob;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code falconq pipeline}: every variant of every model, made and measured with the same library steps as
 * {@code convert}, {@code quantize}, {@code calibrate} and {@code eval}, resumable, with the reports of
 * {@code docs/report-schema.md}.
 */
@Command(name = "pipeline",
        description = {
                "Make every variant of every model and measure it against the original on identical tokens: "
                        + "calibrate once per model, convert/quantize each variant, evaluate each (ppl, ΔPPL, KL "
                        + "divergence, top-1 agreement, tokens/s), then write report.json, report.md, report.html "
                        + "and manifest.json into the output folder.",
                "Every file is written atomically. A re-run skips each step whose inputs and options are unchanged "
                        + "(content hashes, recorded in OUT/.falconq), so an interrupted run resumes where it "
                        + "stopped. --dry-run prints each artifact's size and each step's expected time and memory "
                        + "on this machine; with --config it plans models that are not on disk.",
                "--ctx and --chunks cut the evaluation text; --calib-ctx and --calib-chunks the calibration text."})
public final class PipelineCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face Falcon-H1 checkpoint folder; repeat for several models.")
    private List<Path> folders = new ArrayList<>();

    @Option(names = "--config", paramLabel = "FILE",
            description = "A config.json alone (e.g. ../shared/configs/*.json): planned with --dry-run only; repeat "
                    + "for several.")
    private List<Path> configs = new ArrayList<>();

    static final class Variants {
        @Option(names = "--variants", paramLabel = "LIST",
                description = "Comma-separated variants: llama-quantize mixes (Q8_0, Q4_K_M, …, optionally -imatrix), "
                        + "w8/w4 with -rtn|-clip|-awq|-gptq and -g<N>|-gch, and auto@<MIX>-size or auto@<BITS>bpw: "
                        + "per-tensor types from measured sensitivities within MIX's file size or BITS bits/weight.")
        String list;

        @Option(names = "--variants-file", paramLabel = "FILE",
                description = "Variant list file: names separated by commas or lines, # comments "
                        + "(examples/pipeline/falcon-h1-variants.txt).")
        Path file;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    private Variants variants;

    @Option(names = "--eval-data", paramLabel = "TEXT",
            description = "Evaluation text: a UTF-8 file or builtin:NAME; repeat LANG=TEXT, or give builtin:multi "
                    + "(every bundled language's held-out text), for per-language results. Required unless --dry-run.")
    private List<String> evalData = new ArrayList<>();

    @Mixin
    private ProtocolOption protocol;

    /** The evaluation windows. */
    @Mixin
    private ChunkOptions evalChunking;

    /** Calibration text for -imatrix, clip, awq and gptq variants (default builtin:en). */
    @Mixin
    private CalibrationDataOptions calibration;

    /** {@link ChunkOptions} for the calibration text, under other names (picocli cannot rename a mixin's options). */
    @Option(names = "--calib-ctx", defaultValue = ChunkOptions.DEFAULT_CTX, paramLabel = "N",
            description = "Calibration chunk length (default ${DEFAULT-VALUE}).")
    private int calibCtx;

    @Option(names = "--calib-chunks", defaultValue = ChunkOptions.DEFAULT_CHUNKS, paramLabel = "N",
            description = "Use at most N calibration chunks (default: all).")
    private int calibChunks;

    @Option(names = "--measure-method", defaultValue = "direct", paramLabel = "direct|probe|layer-gain",
            description = "How auto@ variants' sensitivities are measured on the calibration text, as 'falconq measure "
                    + "--method' (default ${DEFAULT-VALUE}; probe for 1.5B and up).")
    private String measureMethod;

    @Option(names = "--measure-chunks", defaultValue = "" + SensitivityJob.DEFAULT_CHUNKS, paramLabel = "N",
            description = "auto@ variants: measure on the first N calibration chunks (default ${DEFAULT-VALUE}, as "
                    + "'falconq measure'; -1: all). The cost grows linearly: see --dry-run.")
    private int measureChunks;

    @Mixin
    private DampOption damp;

    @OutputPath
    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR",
            description = "Output folder (created if missing; an existing one is resumed).")
    private Path output;

    @Option(names = "--dry-run", description = "Plan only: print every artifact's size and each step's expected time "
            + "and memory on this machine; write nothing.")
    private boolean dryRun;

    @Option(names = "--rebuild", description = "Redo every step even when its recorded inputs are unchanged.")
    private boolean rebuild;

    @Option(names = "--publish-layout", defaultValue = "flat", paramLabel = "flat|hub",
            converter = LayoutConverter.class,
            description = "flat (default): artifacts under dist/<model>/ with a Hugging Face model card README.md; "
                    + "hub: also dist/hub/<model>-GGUF/ and dist/hub/<model>-<variant>/ per GPTQ folder, one folder "
                    + "per Hub repository, each with its card (hard links to the artifacts). No network is used.")
    private PublishFolders.Layout publishLayout;

    /** GGUF variants written split: each a folder {@code <model>-<variant>/} of shards. */
    @Mixin
    private GgufSplitOptions split;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private VerbosityMixin verbosity;

    @Override
    public Integer call() {
        evalChunking.check(2, null);
        CountLimits.tokens(spec, "--calib-ctx", calibCtx, 16);
        CountLimits.countOrAll(spec, "--calib-chunks", calibChunks);
        CountLimits.countOrAll(spec, "--measure-chunks", measureChunks);
        List<VariantSpec> variantList = variants.file != null ? VariantList.read(variants.file)
                : VariantList.parse(variants.list);
        GgufSplit.Rule splitRule = split.rule();
        if (splitRule != null) {
            variantList.stream().filter(v -> v instanceof VariantSpec.Auto a && a.sizeOf() != null).findFirst()
                    .ifPresent(v -> {
                        throw new ParameterException(spec.commandLine(), v.name() + " budgets one file's size; with "
                                + "--split-max-size/--split-max-tensors use auto@<BITS>bpw (tensor data) instead");
                    });
        }
        if (folders.isEmpty() && configs.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "give at least one --model DIR or --config FILE");
        }
        List<ModelInput> inputs = new ArrayList<>();
        folders.forEach(f -> inputs.add(ModelInput.folder(f)));
        configs.forEach(c -> inputs.add(ModelInput.config(c)));
        checkUniqueNames(inputs);
        EvalProtocol evalProtocol = protocol.protocol();
        SensitivityJob.Method method = SensitivityJob.Method.ofLabel(measureMethod).orElseThrow(() ->
                new ParameterException(spec.commandLine(), "--measure-method must be " + SensitivityJob.Method.labels()
                        + ", found " + measureMethod));
        if (dryRun) {
            DryRunPlanner.Plan plan = DryRunPlanner.plan(inputs, variantList, new DryRunPlanner.Options(evalProtocol,
                    evalChunking.ctx(), evalChunking.chunks(), evalData.isEmpty() ? null : evalTexts(),
                    calibration.sources(DEFAULT_CALIB_DATA).joined(),
                    calibCtx, calibChunks, damp.percent(), threads.threads(), method, measureChunks, splitRule));
            DryRunPlanner.print(plan, spec.commandLine().getOut());
            return ExitCodes.OK;
        }
        if (!configs.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--config models have no weights: use them with --dry-run");
        }
        if (evalData.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "missing --eval-data TEXT");
        }
        String toolVersion = toolVersion();
        PipelineSettings settings = new PipelineSettings(evalTexts(), evalProtocol, evalChunking.ctx(),
                evalChunking.chunks(), calibration.sources(DEFAULT_CALIB_DATA), calibration.seed(), calibCtx,
                calibChunks, damp.percent(), threads.threads(), method, measureChunks, splitRule);
        Path dist = output.toAbsolutePath().normalize();
        OutputGuard.check(dist);
        try {
            Files.createDirectories(dist);
        } catch (IOException e) {
            throw new OutputException(dist + ": cannot create output folder: " + e.getMessage(), e);
        }

        PrintWriter err = spec.commandLine().getErr();
        List<PipelineStep> steps = PipelinePlan.steps(inputs, variantList, settings);
        ContentHashes hashes = new ContentHashes();
        PipelineRunner runner = new PipelineRunner(dist, hashes, toolVersion, threads.threads(),
                label -> Progress.create(spec, verbosity, label), event -> {
                    if (!verbosity.quiet()) {
                        err.println(event.line());
                        err.flush();
                    }
                }, rebuild);
        Map<String, StepRecord> records = runner.run(steps);
        Report report = PipelinePlan.report(inputs, variantList, settings, records, hashes, dist, toolVersion,
                ReportClock.createdAt());
        PublishFolders.write(report, inputs, settings, records, dist, publishLayout, commandLine());
        ReportFiles.writeAll(report, dist);
        PrintWriter out = spec.commandLine().getOut();
        long skipped = runner.skippedCount();
        out.printf("%s: %d model%s × %d variant%s; %d step%s run, %d unchanged; wrote %s, %s, %s, %s%n", dist,
                inputs.size(), inputs.size() == 1 ? "" : "s", variantList.size(), variantList.size() == 1 ? "" : "s",
                steps.size() - skipped, steps.size() - skipped == 1 ? "" : "s", skipped, ReportJson.FILE_NAME,
                MarkdownReport.FILE_NAME, HtmlReport.FILE_NAME, Manifest.FILE_NAME);
        out.flush();
        return ExitCodes.OK;
    }

    private static final String DEFAULT_CALIB_DATA = "builtin:en";

    private TextSources evalTexts() {
        try {
            return TextSources.parse(evalData, TextSources.Purpose.EVALUATION);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--eval-data: " + e.getMessage());
        }
    }

    private static void checkUniqueNames(List<ModelInput> inputs) {
        List<String> seen = new ArrayList<>();
        for (ModelInput m : inputs) {
            if (seen.contains(m.name())) {
                throw new io.falconq.formats.io.InvalidInputException(m.path() + ": a second model named " + m.name()
                        + " (models are told apart by folder or config-file name)");
            }
            seen.add(m.name());
        }
    }

    /** The command as given, shell-quoted where needed, for the model cards. */
    private String commandLine() {
        StringBuilder s = new StringBuilder("falconq");
        for (String arg : spec.commandLine().getParseResult().originalArgs()) {
            s.append(' ').append(arg.matches("[\\w@%+=:,./-]+") ? arg : "'" + arg.replace("'", "'\\''") + "'");
        }
        return s.toString();
    }

    /** {@code flat} or {@code hub}. */
    static final class LayoutConverter implements picocli.CommandLine.ITypeConverter<PublishFolders.Layout> {
        @Override
        public PublishFolders.Layout convert(String value) {
            return switch (value) {
                case "flat" -> PublishFolders.Layout.FLAT;
                case "hub" -> PublishFolders.Layout.HUB;
                default -> throw new picocli.CommandLine.TypeConversionException("expected flat or hub, got " + value);
            };
        }
    }

    /** The jar's Implementation-Version, or "dev" when run from classes. */
    static String toolVersion() {
        String v = FalconqCli.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
