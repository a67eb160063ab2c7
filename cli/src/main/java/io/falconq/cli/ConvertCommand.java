package io.falconq.cli;

import io.falconq.cli.options.AllocationOptions;
import io.falconq.cli.options.GgufSplitOptions;
import io.falconq.cli.options.OutputOptions;
import io.falconq.cli.options.ThreadsOption;
import io.falconq.cli.options.VerbosityMixin;
import io.falconq.cli.progress.Progress;
import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionReport;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.core.convert.GgufConversion;
import io.falconq.core.convert.alloc.AllocationKeys;
import io.falconq.core.convert.PlannedTensor;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.gguf.GgufSplitWriter;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;
import io.falconq.formats.io.InvalidInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code falconq convert}: a Hugging Face Falcon-H1 checkpoint to a GGUF that llama.cpp loads unchanged. */
@Command(name = "convert",
        description = {
                "Convert a Hugging Face Falcon-H1 checkpoint (BF16/F16/F32 safetensors, single or sharded) to GGUF.",
                "--type F32 writes what llama.cpp's convert_hf_to_gguf.py writes; any other type writes what "
                        + "llama-quantize writes from that F32 file, without writing the F32 file: µP multipliers "
                        + "folded into the weights, llama-quantize's per-tensor mix and shape fallbacks, byte for byte.",
                "Types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M (Q3_K), Q3_K_L, Q4_K_S, "
                        + "Q4_K_M (Q4_K), Q5_K_S, Q5_K_M (Q5_K), Q6_K, IQ4_NL, IQ4_XS."})
public final class ConvertCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Hugging Face model folder or .safetensors file.")
    private Path model;

    @Mixin
    private TypeOptions type;

    @Mixin
    private AllocationOptions allocation;

    @Mixin
    private GgufSplitOptions split;

    @Option(names = "--name", paramLabel = "NAME", description = "general.name (default: the model folder's name).")
    private String name;

    @Mixin
    private OutputOptions output;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private VerbosityMixin verbosity;

    @Override
    public Integer call() {
        if (model.getFileName() != null && model.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf")) {
            throw new InvalidInputException(model + ": is a GGUF file; use 'falconq requantize' to quantize a GGUF");
        }
        ImatrixFile imatrix = type.imatrix();
        try (HfCheckpoint ckpt = HfCheckpoint.open(model)) {
            ConversionPlan plan = allocation.plan(spec, o -> ConversionPlanner.planFromHf(ckpt, o),
                    new ConversionOptions(type.recipe(), imatrix, type.imatrixLabel(), name), output.force());
            Path out = output.outputOr(Path.of(ckpt.dir().getFileName() + "-" + type.outputSuffix(plan, allocation)
                    + ".gguf"));
            return type.execute(spec, plan, ckpt, out, split, output, threads, verbosity);
        }
    }

    /** {@code --type}, {@code --pure}, {@code --imatrix}, {@code --dry-run}, and running a plan; shared with requantize. */
    public static final class TypeOptions {
        @Option(names = "--type", paramLabel = "TYPE", converter = RecipeConverter.class,
                description = "Output type or llama-quantize mix, e.g. Q4_K_M, Q8_0, F16. Required, except with "
                        + "--target-size/--target-bpw, where it is the file type (general.file_type, and the mix of "
                        + "tensors the sensitivity table does not cover); default there: the largest stock mix that "
                        + "fits the budget.")
        private QuantRecipe recipe;

        @Option(names = "--pure", description = "No mix: every quantizable tensor gets the base type (llama-quantize --pure).")
        private boolean pure;

        @Option(names = "--imatrix", paramLabel = "FILE",
                description = "Importance matrix (llama-imatrix GGUF or legacy .dat, or falconq calibrate output).")
        private Path imatrix;

        @Option(names = "--dry-run", description = "Print the per-tensor plan (types, sizes, fallbacks) and write nothing.")
        private boolean dryRun;

        /** The named recipe (its pure form with --pure), or null when --type was not given. */
        QuantRecipe recipe() {
            return recipe == null ? null : pure ? recipe.pure() : recipe;
        }

        /** The default output name's suffix: the type, with {@code -auto} for an allocation. */
        String outputSuffix(ConversionPlan plan, AllocationOptions allocation) {
            return plan.recipe().name() + (allocation.active() ? "-auto" : "");
        }

        ImatrixFile imatrix() {
            return imatrix == null ? null : ImatrixReader.read(imatrix);
        }

        String imatrixLabel() {
            return imatrix == null ? null : imatrix.toString();
        }

        Integer execute(CommandSpec spec, ConversionPlan plan, io.falconq.formats.tensor.TensorSource source, Path out,
                        GgufSplitOptions splitOptions, OutputOptions output, ThreadsOption threads,
                        VerbosityMixin verbosity) {
            PrintWriter err = spec.commandLine().getErr();
            if (!verbosity.quiet()) {
                plan.notes().forEach(n -> err.println("note: " + n));
            }
            if (dryRun) {
                printPlan(spec.commandLine().getOut(), plan);
                return ExitCodes.OK;
            }
            GgufSplit.Rule split = splitOptions.rule();
            AllocationKeys allocated = AllocationKeys.read(plan.metadata());
            if (split != null && allocated != null && allocated.target().startsWith("size:")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--target-size budgets one file; with "
                        + "--split-max-size/--split-max-tensors use --target-bpw (tensor data), or split afterwards");
            }
            Path target = split == null ? output.checkWritable(out) : out.toAbsolutePath();
            if (split != null) {
                GgufSplitWriter.plannedFiles(target, plan.tensors().stream().map(PlannedTensor::forWriter).toList(), split)
                        .forEach(output::checkWritable);
            }
            ConversionReport report;
            try (Progress progress = Progress.create(spec, verbosity, spec.name())) {
                report = GgufConversion.run(plan, source, target, split, output.force(), threads.threads(), progress);
            }
            PrintWriter o = spec.commandLine().getOut();
            o.printf("wrote %s%s: %s, %,d bytes, %.3f bits/weight, %d tensors %s, %d fallback(s), %.1f s on %d thread(s)%n",
                    report.output(), report.files().size() > 1 ? " (first of " + report.files().size() + " shards)" : "",
                    report.recipe(), report.fileBytes(), report.bitsPerWeight(), report.tensors().size(),
                    report.typeCounts(), report.fallbacks().size(), report.wallNanos() / 1e9, report.threads());
            o.flush();
            return ExitCodes.OK;
        }

        private static void printPlan(PrintWriter o, ConversionPlan plan) {
            o.printf("%s (%s layout): %d tensors, %,d data bytes, %.3f bits/weight%n", plan.recipe().name(),
                    plan.layout(), plan.tensors().size(), plan.dataBytes(), 8.0 * plan.dataBytes() / plan.elementCount());
            for (PlannedTensor t : plan.tensors()) {
                o.printf("  %-32s %-7s %-20s %12d bytes %7.3f bpw%s%s%n", t.targetName(), t.type(),
                        Arrays.toString(t.ne()), t.bytes(), t.bitsPerWeight(),
                        t.fallback() != null && t.fallback().isFallback() ? "  fallback from " + t.fallback().requested() : "",
                        t.importance() != null ? "  imatrix" : "");
            }
            o.flush();
        }
    }

    /** Parses a type name into a recipe; unknown names are usage errors listing the valid ones. */
    public static final class RecipeConverter implements CommandLine.ITypeConverter<QuantRecipe> {
        @Override
        public QuantRecipe convert(String value) {
            try {
                return QuantRecipe.named(value);
            } catch (InvalidInputException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
