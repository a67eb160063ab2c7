package io.falconq.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.falconq.cli.inspect.InspectionText;
import io.falconq.cli.inspect.ModelInspection;
import io.falconq.cli.inspect.ModelInspector;
import io.falconq.cli.options.VerbosityMixin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code falconq inspect}: what a checkpoint, GGUF or config holds, and how big its GGUF mixes would be. */
@Command(name = "inspect",
        description = {
                "Summarise a Falcon-H1 model: architecture, parameter counts by component, stored types, size on disk "
                        + "and estimated GGUF sizes for common llama-quantize mixes.",
                "PATH is a Hugging Face model folder (single or sharded safetensors), one .safetensors file, or a "
                        + ".gguf file (per-tensor types and bits per weight). With --config, only a config.json is "
                        + "needed: for sizes you cannot download.",
                "Reads headers only, never tensor data."})
public final class InspectCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "PATH", description = "Model folder, .safetensors file or .gguf file.")
    private Path path;

    @Option(names = "--config", paramLabel = "FILE", description = "Inspect a config.json alone (no weights needed).")
    private Path config;

    @Option(names = "--tensors", description = "Also print the tensor table.")
    private boolean tensors;

    @Option(names = "--json", description = "Print JSON on stdout instead of text (same content; the tensor table "
            + "is always included).")
    private boolean json;

    @Mixin
    private VerbosityMixin verbosity;

    @Override
    public Integer call() throws Exception {
        if ((path == null) == (config == null)) {
            throw new ParameterException(spec.commandLine(), path == null
                    ? "give a model PATH, or --config FILE" : "give either PATH or --config FILE, not both");
        }
        ModelInspection inspection = config != null ? ModelInspector.config(config) : ModelInspector.inspect(path);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.MAPPER.writeValueAsString(inspection));
            out.flush();
        } else {
            InspectionText.render(inspection, tensors, out);
        }
        return ExitCodes.OK;
    }

    /**
     * Created on first use, not when picocli instantiates every subcommand at start-up: an ObjectMapper costs about
     * 0.2 s of class loading that other commands should not pay.
     */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper()
                .enable(SerializationFeature.INDENT_OUTPUT)
                .setSerializationInclusion(JsonInclude.Include.NON_NULL);
    }
}
