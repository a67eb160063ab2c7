package io.falconq.cli;

import io.falconq.core.convert.ConversionPlanner;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.io.InvalidInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Locale;

/** {@code falconq convert}: a Hugging Face Falcon-H1 checkpoint to a GGUF that llama.cpp loads unchanged. */
@Command(name = "convert",
        description = {
                "Convert a Hugging Face Falcon-H1 checkpoint (BF16/F16/F32 safetensors, single or sharded) to GGUF.",
                "--type F32 writes what llama.cpp's convert_hf_to_gguf.py writes; any other type writes what "
                        + "llama-quantize writes from that F32 file, without writing the F32 file: µP multipliers "
                        + "folded into the weights, llama-quantize's per-tensor mix and shape fallbacks, byte for byte.",
                "Types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M (Q3_K), Q3_K_L, Q4_K_S, "
                        + "Q4_K_M (Q4_K), Q5_K_S, Q5_K_M (Q5_K), Q6_K, IQ4_NL, IQ4_XS."})
public final class ConvertCommand extends GgufOutputCommand {
    @Parameters(index = "0", paramLabel = "MODEL", description = "Hugging Face model folder or .safetensors file.")
    private Path model;

    @Option(names = "--name", paramLabel = "NAME", description = "general.name (default: the model folder's name).")
    private String name;

    @Override
    public Integer call() {
        if (model.getFileName() != null && model.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf")) {
            throw new InvalidInputException(model + ": is a GGUF file; use 'falconq requantize' to quantize a GGUF");
        }
        ImatrixFile imatrix = type.imatrix();
        try (HfCheckpoint ckpt = HfCheckpoint.open(model)) {
            return planAndWrite(ckpt, o -> ConversionPlanner.planFromHf(ckpt, o), imatrix, name,
                    ckpt.dir().getFileName().toString());
        }
    }
}
