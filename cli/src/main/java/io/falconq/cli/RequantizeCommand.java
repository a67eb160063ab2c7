package io.falconq.cli;

import io.falconq.cli.options.AllocationOptions;
import io.falconq.cli.options.GgufSplitOptions;
import io.falconq.cli.options.OutputOptions;
import io.falconq.cli.options.ThreadsOption;
import io.falconq.cli.options.VerbosityMixin;
import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code falconq requantize}: what {@code llama-quantize IN OUT TYPE} does, for F32/F16/BF16 Falcon-H1 GGUFs. */
@Command(name = "requantize",
        description = {
                "Quantize an F32, F16 or BF16 Falcon-H1 GGUF to another type or llama-quantize mix, writing what "
                        + "llama-quantize writes (same tensor order, types, bytes and metadata).",
                "Already-quantized inputs are refused: requantizing compounds the error; convert from the checkpoint."})
public final class RequantizeCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN.gguf", description = "F32, F16 or BF16 Falcon-H1 GGUF.")
    private Path input;

    @Mixin
    private ConvertCommand.TypeOptions type;

    @Mixin
    private AllocationOptions allocation;

    @Mixin
    private GgufSplitOptions split;

    @Mixin
    private OutputOptions output;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private VerbosityMixin verbosity;

    @Override
    public Integer call() {
        try (GgufFile in = GgufReader.open(input)) {
            ConversionPlan plan = allocation.plan(spec, o -> ConversionPlanner.planFromGguf(in, o),
                    new ConversionOptions(type.recipe(), type.imatrix(), type.imatrixLabel(), null), output.force());
            String base = input.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
            Path out = output.outputOr(Path.of(base + "-" + type.outputSuffix(plan, allocation) + ".gguf"));
            return type.execute(spec, plan, in, out, split, output, threads, verbosity);
        }
    }
}
