package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.imatrix.ImatrixReader;
import io.falconq.jobs.sensitivity.SensitivityJob;

import java.nio.file.Path;
import java.util.List;

/**
 * The model's sensitivity table for its {@code auto@} variants, as {@code falconq measure MODEL --imatrix IMATRIX
 * --method M -o FILE} makes it ({@link SensitivityJob#run}, which resumes an interrupted measurement itself): the
 * default candidate types, quantized with the model's importance matrix, measured on the first
 * {@code --measure-chunks} calibration chunks (never the evaluation text). The chunks are the calibration sequences end to end, each {@code calibCtx} tokens with BOS
 * first, so llama-perplexity's chunking of that stream gives back exactly those sequences.
 */
public record MeasureStep(ModelInput model, PipelineSettings settings,
                          ModelCalibration calibration) implements PipelineStep {
    /** Sequences measured: the first {@code measureChunks} of the {@code available} calibration sequences. */
    static int chunks(int available, int measureChunks) {
        return measureChunks > 0 ? Math.min(available, measureChunks) : available;
    }

    public static String id(ModelInput model) {
        return model.name() + "/measure";
    }

    /** {@code <model>/<model>-sensitivity.json}. */
    public static Path path(ModelInput model) {
        return Path.of(model.name(), model.name() + "-sensitivity.json");
    }

    @Override
    public String id() {
        return id(model);
    }

    @Override
    public String label() {
        return model.name() + ": measure sensitivities (" + settings.measureMethod().label() + ") on "
                + settings.calibTexts().label();
    }

    @Override
    public List<String> dependsOn() {
        return List.of(ImatrixStep.id(model));
    }

    @Override
    public void describeInputs(StepKey.Builder key) {
        model.describe(key);
        settings.describeCalibration(key);
        key.option("measure.method", settings.measureMethod().label());
        key.option("measure.chunks", settings.measureChunks());
        key.option("measure.types", SensitivityJob.defaultTypes().toString());
    }

    @Override
    public List<Path> outputs() {
        return List.of(path(model));
    }

    @Override
    public JsonNode run(StepContext context) {
        CalibrationTokens tokens = calibration.tokens();
        int[][] sequences = tokens.sequences();
        int n = chunks(sequences.length, settings.measureChunks());
        int[] stream = new int[n * settings.calibCtx()];
        for (int i = 0; i < n; i++) {
            System.arraycopy(sequences[i], 0, stream, i * settings.calibCtx(), settings.calibCtx());
        }
        SensitivityJob.Options options = new SensitivityJob.Options(SensitivityJob.defaultTypes(),
                ImatrixReader.read(context.resolve(ImatrixStep.path(model))), ImatrixStep.fileName(model),
                settings.calibCtx(), n, context.threads(), settings.measureMethod());
        SensitivityJob.Report report = SensitivityJob.run(model.path(), settings.calibTexts().label(), stream,
                tokens.bos(), options, context.resolve(outputs().getFirst()), true, context.progress());
        return StepStore.MAPPER.createObjectNode()
                .put("method", settings.measureMethod().label())
                .put("tensors", report.table().tensors().size())
                .put("scoredTokens", report.scoredTokens())
                .put("seconds", report.seconds());
    }
}
