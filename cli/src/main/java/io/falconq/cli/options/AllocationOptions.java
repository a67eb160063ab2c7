package io.falconq.cli.options;

import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.alloc.Allocation;
import io.falconq.core.convert.alloc.AllocationBudget;
import io.falconq.core.convert.alloc.AllocationPlanner;
import io.falconq.core.convert.alloc.SensitivityTable;
import io.falconq.core.convert.alloc.TensorTypeFile;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.Sha256;
import io.falconq.formats.safetensors.SafetensorsShardPlan;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * {@code --target-size}/{@code --target-bpw} with {@code --sensitivity}: per-tensor types chosen to a budget from
 * measured sensitivities ({@link AllocationPlanner}), for {@code convert} and {@code requantize}. Without a target the
 * plan is the named mix's.
 */
public final class AllocationOptions {
    @Option(names = "--target-size", paramLabel = "SIZE",
            description = "Choose per-tensor types (needs --sensitivity) so the GGUF file is at most SIZE: bytes, or "
                    + "with a unit, K/M/G = 10^3/10^6/10^9 (KiB/MiB/GiB = powers of 1024); header, metadata and "
                    + "padding included, exactly.")
    private String targetSize;

    @Option(names = "--target-bpw", paramLabel = "BITS",
            description = "Choose per-tensor types (needs --sensitivity) so the tensor data is at most BITS bits per "
                    + "weight (8 x data bytes / all elements, as inspect prints).")
    private Double targetBpw;

    @Option(names = "--sensitivity", paramLabel = "FILE",
            description = "sensitivity.json from 'falconq measure': ΔKLD per tensor per concrete type; the allocation "
                    + "minimises their sum (measured on text other than your evaluation text).")
    private Path sensitivity;

    @OutputPath
    @Option(names = "--tensor-type-file", paramLabel = "OUT",
            description = "Also write the allocation as llama-quantize's --tensor-type-file (one anchored ^name$=type "
                    + "per quantized tensor); with the same --imatrix and file type, llama-quantize then writes the "
                    + "same tensors. Obeys --force.")
    private Path tensorTypeFile;

    @Option(names = "--allow-worse-than-stock",
            description = "Write an allocation even when a stock mix of at most its size is predicted better by the same "
                    + "table (otherwise that is an error naming the mix).")
    private boolean allowWorse;

    /** Whether a target was given. */
    public boolean active() {
        return targetSize != null || targetBpw != null;
    }

    /**
     * The plan: {@code planner.apply(options)} without a target, the allocation's plan with one (its report printed
     * on {@code out}, the tensor-type file written).
     */
    public ConversionPlan plan(CommandSpec spec, Function<ConversionOptions, ConversionPlan> planner,
                               ConversionOptions options, boolean force) {
        if (!active()) {
            if (sensitivity != null || tensorTypeFile != null) {
                throw usage(spec, "--sensitivity and --tensor-type-file need --target-size or --target-bpw");
            }
            if (options.recipe() == null) {
                throw usage(spec, "Missing required option: '--type=TYPE' (or --target-size/--target-bpw)");
            }
            return planner.apply(options);
        }
        if (targetSize != null && targetBpw != null) {
            throw usage(spec, "--target-size and --target-bpw are mutually exclusive");
        }
        if (sensitivity == null) {
            throw usage(spec, "--target-size/--target-bpw need --sensitivity FILE (from 'falconq measure')");
        }
        AllocationBudget budget = budget(spec);
        if (tensorTypeFile != null) {
            io.falconq.formats.io.AtomicOutput.checkWritable(tensorTypeFile, force);
        }
        SensitivityTable table = SensitivityTable.read(sensitivity);
        List<String> notes = new ArrayList<>();
        Allocation a = AllocationPlanner.allocate(planner, options, table, Sha256.ofFile(sensitivity), budget, notes);
        notes.forEach(n -> spec.commandLine().getErr().println("note: " + n));
        PrintWriter out = spec.commandLine().getOut();
        print(out, a);
        if (!allowWorse) {
            refuseWorseThanStock(a);
        }
        if (tensorTypeFile != null) {
            TensorTypeFile.write(tensorTypeFile, a.quantizedTypes(), force);
            out.printf("wrote %s: llama-quantize%s --tensor-type-file %s%s IN.gguf OUT.gguf %s%n", tensorTypeFile,
                    options.imatrixLabel() != null ? " --imatrix " + options.imatrixLabel() : "", tensorTypeFile,
                    a.keys().overrideKvArguments().stream().map(k -> " --override-kv '" + k + "'")
                            .reduce("", String::concat), a.plan().recipe().name());
        }
        out.flush();
        return a.plan();
    }

    /**
     * Refuses an allocation the same table predicts worse than a stock mix of at most its size (convert and
     * pipeline).
     */
    public static void refuseWorseThanStock(Allocation a) {
        List<Allocation.StockMix> better = a.betterStockMixes();
        if (!better.isEmpty()) {
            Allocation.StockMix s = better.getFirst();
            throw new InvalidInputException(String.format("the allocation's predicted ΔKLD %.6g is worse than stock "
                    + "mix %s's %.6g at %,d bytes (<= this allocation's %,d): use --type %s, or "
                    + "--allow-worse-than-stock to write the allocation anyway", a.predictedDeltaKld(), s.name(),
                    s.predictedDeltaKld(), s.fileBytes(), a.fileBytes(), s.name()));
        }
    }

    private AllocationBudget budget(CommandSpec spec) {
        if (targetBpw != null) {
            if (!(targetBpw > 0 && targetBpw <= 32)) {
                throw usage(spec, "--target-bpw must be in (0, 32], got " + targetBpw);
            }
            return AllocationBudget.bitsPerWeight(targetBpw);
        }
        try {
            long bytes = SafetensorsShardPlan.parseSize(targetSize);
            if (bytes < 1) {
                throw usage(spec, "--target-size must be positive, got " + targetSize);
            }
            return AllocationBudget.fileBytes(bytes);
        } catch (IllegalArgumentException e) {
            throw usage(spec, "--target-size: " + e.getMessage());
        }
    }

    private static void print(PrintWriter out, Allocation a) {
        out.printf("allocation %s (file type %s): %,d bytes, %.4f bits/weight, predicted ΔKLD %.6g%s; %d tensors "
                        + "chosen, %d kept from the mix%n", a.budget().label(), a.plan().recipe().name(), a.fileBytes(),
                a.bitsPerWeight(), a.predictedDeltaKld(), a.exact() ? " (optimal for the table)" : "",
                a.allocated().size(), a.fixed().size());
        out.println("  stock mixes priced by the same table (ΔKLD over the same tensors; n/a: a type not measured):");
        for (Allocation.StockMix s : a.stock()) {
            out.printf("    %-8s %,12d bytes %7.4f bpw  ΔKLD %s%s%n", s.name(), s.fileBytes(), s.bitsPerWeight(),
                    Double.isNaN(s.predictedDeltaKld()) ? "n/a" : String.format("%.6g", s.predictedDeltaKld()),
                    s.within(a.budget()) ? "" : "  (over budget)");
        }
    }

    private static CommandLine.ParameterException usage(CommandSpec spec, String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
