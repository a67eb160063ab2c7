package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.imatrix.ImatrixEntry;
import io.falconq.formats.imatrix.ImatrixWriter;

import java.nio.file.Path;
import java.util.List;

/**
 * The model's importance matrix, as {@code falconq calibrate MODEL --data TEXT -o FILE} writes it (llama.cpp's
 * GGUF imatrix format), published beside the GGUF files so llama.cpp users can make their own mixes with it.
 */
public record ImatrixStep(ModelInput model, PipelineSettings settings,
                          ModelCalibration calibration) implements PipelineStep {
    public static String id(ModelInput model) {
        return model.name() + "/imatrix";
    }

    /** {@code <model>/<model>-imatrix.gguf}. */
    public static Path path(ModelInput model) {
        return Path.of(model.name(), fileName(model));
    }

    /** The name recorded in GGUF files quantized with it ({@code quantize.imatrix.file}). */
    public static String fileName(ModelInput model) {
        return model.name() + "-imatrix.gguf";
    }

    @Override
    public String id() {
        return id(model);
    }

    @Override
    public String label() {
        return model.name() + ": importance matrix from " + settings.calibTexts().label();
    }

    @Override
    public void describeInputs(StepKey.Builder key) {
        model.describe(key);
        settings.describeCalibration(key);
    }

    @Override
    public List<Path> outputs() {
        return List.of(path(model));
    }

    @Override
    public JsonNode run(StepContext context) {
        boolean calibratesNow = !calibration.done();
        ModelCalibration.Statistics stats = calibration.get(context.progress());
        List<ImatrixEntry> entries = stats.imatrix().imatrixEntries();
        int chunkCount = stats.imatrix().chunkCount(settings.calibCtx());
        CalibrationTokens tokens = calibration.tokens();
        ImatrixWriter.writeGguf(context.resolve(path(model)), List.of(settings.calibTexts().label()), chunkCount,
                settings.calibCtx(), tokens.imatrixMetadata(), entries, true);
        ObjectNode result = StepStore.MAPPER.createObjectNode();
        result.set("calibration", tokens.metadata());
        return result
                .put("chunks", chunkCount)
                .put("tokens", stats.summary().tokens())
                .put("entries", entries.size())
                .put("tokensPerSecond", stats.summary().tokensPerSecond())
                .put("calibrationSeconds", calibratesNow ? stats.summary().seconds() : 0);
    }
}
