package io.falconq.cli;

import io.falconq.core.convert.ConversionPlanner;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;

/** {@code falconq requantize}: what {@code llama-quantize IN OUT TYPE} does, for F32/F16/BF16 Falcon-H1 GGUFs. */
@Command(name = "requantize",
        description = {
                "Quantize an F32, F16 or BF16 Falcon-H1 GGUF to another type or llama-quantize mix, writing what "
                        + "llama-quantize writes (same tensor order, types, bytes and metadata).",
                "Already-quantized inputs are refused: requantizing compounds the error; convert from the checkpoint."})
public final class RequantizeCommand extends GgufOutputCommand {
    @Parameters(index = "0", paramLabel = "IN.gguf", description = "F32, F16 or BF16 Falcon-H1 GGUF.")
    private Path input;

    @Override
    public Integer call() {
        try (GgufFile in = GgufReader.open(input)) {
            return planAndWrite(in, o -> ConversionPlanner.planFromGguf(in, o), type.imatrix(), null,
                    input.getFileName().toString().replaceFirst("(?i)\\.gguf$", ""));
        }
    }
}
