package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.convert.ConversionPlan;
import io.falconq.convert.ConversionReport;
import io.falconq.convert.GgufConversion;
import io.falconq.convert.PlannedTensor;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;

import java.nio.file.Path;
import java.util.List;

/**
 * One GGUF variant, made as {@code falconq convert MODEL --type MIX [--imatrix FILE]} makes it: the converter's
 * plan ({@link GgufConversion#planFromHf}) run by {@link GgufConversion#run}, which writes atomically.
 */
public final class ConvertStep implements PipelineStep {
    private final ModelInput model;
    private final VariantSpec.Gguf variant;
    private final PipelineSettings settings;

    public ConvertStep(ModelInput model, VariantSpec.Gguf variant, PipelineSettings settings) {
        this.model = model;
        this.variant = variant;
        this.settings = settings;
    }

    /** Id of the step that makes a variant's artifact, GGUF or GPTQ: {@code <model>/<variant>/make}. */
    public static String id(ModelInput model, VariantSpec variant) {
        return model.name() + "/" + variant.fileName() + "/make";
    }

    @Override
    public String id() {
        return id(model, variant);
    }

    @Override
    public String label() {
        return model.name() + " " + variant.name() + ": convert to GGUF";
    }

    @Override
    public List<String> dependsOn() {
        return variant.imatrix() ? List.of(ImatrixStep.id(model)) : List.of();
    }

    @Override
    public void describeInputs(StepKey.Builder key) {
        model.describe(key);
        key.option("recipe", variant.recipe());
        key.option("imatrix", variant.imatrix());
        settings.describeTool(key);
    }

    @Override
    public List<Path> outputs() {
        return List.of(ArtifactPlanner.artifactPath(model.name(), variant));
    }

    @Override
    public JsonNode run(StepContext context) {
        ImatrixFile imatrix = variant.imatrix() ? ImatrixReader.read(context.resolve(ImatrixStep.path(model))) : null;
        try (HfCheckpoint checkpoint = HfCheckpoint.open(model.path())) {
            ConversionPlan plan = GgufConversion.planFromHf(checkpoint, new GgufConversion.Options(variant.recipe(),
                    imatrix, imatrix == null ? null : ImatrixStep.fileName(model), model.name()));
            ConversionReport report = GgufConversion.run(plan, checkpoint, context.resolve(outputs().getFirst()), true,
                    context.threads(), context.progress());
            ObjectNode result = StepStore.MAPPER.createObjectNode();
            result.put("fileBytes", report.fileBytes());
            result.put("tensorBytes", plan.dataBytes());
            result.put("elements", plan.elementCount());
            result.put("fallbacks", report.fallbacks().size());
            ObjectNode mix = result.putObject("typeMix");
            for (PlannedTensor t : report.tensors()) {
                mix.put(t.type().name(), mix.path(t.type().name()).asInt(0) + 1);
            }
            return result;
        }
    }
}
