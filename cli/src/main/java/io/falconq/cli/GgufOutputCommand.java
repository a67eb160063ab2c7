package io.falconq.cli;

import io.falconq.cli.options.AllocationOptions;
import io.falconq.cli.options.GgufSplitOptions;
import io.falconq.cli.progress.Progress;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionReport;
import io.falconq.core.convert.GgufConversion;
import io.falconq.core.convert.PlannedTensor;
import io.falconq.core.convert.alloc.AllocationKeys;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.gguf.GgufSplitWriter;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorSource;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;

/**
 * A command that writes a GGUF from a plan of the converter, {@code convert} and {@code requantize}: {@code --type},
 * {@code --pure}, {@code --imatrix}, {@code --dry-run} ({@link TypeOptions}), a budget allocation
 * ({@link AllocationOptions}), a split ({@link GgufSplitOptions}), and the running of the plan.
 */
public abstract class GgufOutputCommand extends JobCommand {
    @Mixin
    protected TypeOptions type;

    @Mixin
    protected AllocationOptions allocation;

    @Mixin
    protected GgufSplitOptions split;

    /**
     * Plans {@code source} with {@code planner} (or the allocation's plan when a budget is given) and writes it to
     * {@code -o}, by default {@code <baseName>-<TYPE>.gguf}; with {@code --dry-run} prints the plan instead.
     * {@code name} is general.name (null: the planner's default).
     */
    protected Integer planAndWrite(TensorSource source, Function<ConversionOptions, ConversionPlan> planner,
                                   ImatrixFile imatrix, String name, String baseName) {
        ConversionPlan plan = allocation.plan(spec, planner,
                new ConversionOptions(type.recipe(), imatrix, type.imatrixLabel(), name), output.force());
        Path out = output.outputOr(Path.of(baseName + "-" + plan.recipe().name() + (allocation.active() ? "-auto" : "")
                + ".gguf"));
        PrintWriter err = spec.commandLine().getErr();
        if (!verbosity.quiet()) {
            plan.notes().forEach(n -> err.println("note: " + n));
        }
        if (type.dryRun) {
            printPlan(spec.commandLine().getOut(), plan);
            return ExitCodes.OK;
        }
        GgufSplit.Rule splitRule = split.rule();
        AllocationKeys allocated = AllocationKeys.read(plan.metadata());
        if (splitRule != null && allocated != null && allocated.target().startsWith("size:")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--target-size budgets one file; with "
                    + "--split-max-size/--split-max-tensors use --target-bpw (tensor data), or split afterwards");
        }
        Path target = splitRule == null ? output.checkWritable(out) : out.toAbsolutePath();
        if (splitRule != null) {
            GgufSplitWriter.plannedFiles(target, plan.tensors().stream().map(PlannedTensor::forWriter).toList(),
                    splitRule).forEach(output::checkWritable);
        }
        ConversionReport report;
        try (Progress progress = progress(spec.name())) {
            report = GgufConversion.run(plan, source, target, splitRule, output.force(), threads.threads(), progress);
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

    /** {@code --type}, {@code --pure}, {@code --imatrix} and {@code --dry-run}. */
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

        /** The {@code --imatrix} file read, or null. */
        ImatrixFile imatrix() {
            return imatrix == null ? null : ImatrixReader.read(imatrix);
        }

        String imatrixLabel() {
            return imatrix == null ? null : imatrix.toString();
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
