package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsTensorInfo;
import io.falconq.jobs.intquant.AwqLoss;
import io.falconq.jobs.intquant.IntQuantJob;
import io.falconq.jobs.intquant.IntQuantMethod;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One int8/int4 variant, made as {@code falconq quantize MODEL --scheme wN --method M --group-size G} makes it:
 * {@link IntQuantJob#run}, which writes the folder atomically. Calibrated methods run the model's calibration
 * sequences ({@link ModelCalibration#sequences}) layer by layer.
 */
public record QuantizeStep(ModelInput model, VariantSpec.IntQuant variant, PipelineSettings settings,
                           ModelCalibration calibration) implements PipelineStep {
    /** Summary of a written GPTQ folder, for the report. */
    public record FolderSummary(long fileBytes, long tensorBytes, Map<String, Integer> typeMix) {
    }

    @Override
    public String id() {
        return ConvertStep.id(model, variant);
    }

    @Override
    public String label() {
        return model.name() + " " + variant.name() + ": quantize to int" + variant.scheme().bits() + " ("
                + variant.method() + ")";
    }

    @Override
    public void describeInputs(StepKey.Builder key) {
        model.describe(key);
        key.option("scheme", variant.scheme());
        key.option("method", variant.method());
        key.option("damp", settings.dampPercent());
        if (variant.intQuantMethod().needsCalibration()) {
            settings.describeCalibration(key);
        }
    }

    @Override
    public List<Path> outputs() {
        return List.of(ArtifactPlanner.artifactPath(model.name(), variant));
    }

    @Override
    public JsonNode run(StepContext context) {
        IntQuantMethod method = variant.intQuantMethod();
        CalibrationTokens tokens = method.needsCalibration() ? calibration.tokens() : null;
        Path out = context.resolve(outputs().getFirst());
        IntQuantJob.Report report = IntQuantJob.run(model.path(), new IntQuantJob.Options(variant.scheme(), method,
                settings.dampPercent(), AwqLoss.NORMED_OUTPUT, IntQuantJob.DEFAULT_MAX_SHARD_BYTES, settings.threads(),
                tokens == null ? null : tokens.metadata()), tokens == null ? null : tokens.sequences(), out, true,
                context.progress());
        FolderSummary summary = summarize(out, variant.scheme().bits());
        ObjectNode result = StepStore.MAPPER.valueToTree(summary);
        result.put("linears", report.linears());
        if (tokens != null) {
            result.set("calibration", tokens.metadata());
        }
        return result;
    }

    /**
     * Sizes and type mix of a GPTQ folder: each quantized linear (its {@code .qweight}) counts once as
     * {@code gptq-int<bits>}, its qzeros/scales/g_idx are part of it; every other tensor counts by dtype.
     */
    public static FolderSummary summarize(Path folder, int bits) {
        Map<String, Integer> mix = new TreeMap<>();
        long tensorBytes = 0;
        try (HfCheckpoint checkpoint = HfCheckpoint.open(folder)) {
            for (String tensor : checkpoint.names()) {
                SafetensorsTensorInfo t = checkpoint.info(tensor);
                tensorBytes += t.byteSize();
                countType(mix, t.name(), t.dtype(), bits);
            }
        }
        return new FolderSummary(ContentHashes.size(folder), tensorBytes, mix);
    }

    /** Counts a GPTQ folder's tensor in {@code mix}: a quantized linear (its qweight) as gptq-intN, others by dtype. */
    static void countType(Map<String, Integer> mix, String name, SafetensorsDtype dtype, int bits) {
        if (name.endsWith(".qweight")) {
            mix.merge("gptq-int" + bits, 1, Integer::sum);
        } else if (!name.endsWith(".qzeros") && !name.endsWith(".scales") && !name.endsWith(".g_idx")) {
            mix.merge(dtype.name(), 1, Integer::sum);
        }
    }
}
