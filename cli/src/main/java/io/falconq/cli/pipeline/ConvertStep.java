package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionReport;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.core.convert.GgufConversion;
import io.falconq.core.convert.PlannedTensor;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;
import io.falconq.formats.io.OutputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One GGUF variant, made as {@code falconq convert MODEL --type MIX [--imatrix FILE] [--split-max-size|-tensors]}
 * makes it: the converter's plan ({@link ConversionPlanner#planFromHf}) run by {@link GgufConversion#run}, which writes
 * atomically (a split: all shards or none). A split variant's artifact is a folder {@code <model>/<model>-<variant>/}
 * holding its shards {@code <model>-<variant>-0000i-of-0000N.gguf}, the layout Hub repositories use for split files,
 * so the step's one output (the folder, hashed and sized over its files) is known before the shard count is.
 */
public record ConvertStep(ModelInput model, VariantSpec.Gguf variant,
                          PipelineSettings settings) implements PipelineStep {
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
        settings.describeGgufSplit(key);
    }

    @Override
    public List<Path> outputs() {
        return List.of(artifactPath(model, variant, settings));
    }

    /** A variant's artifact relative to dist: {@link ArtifactPlanner#artifactPath} with the run's split rule. */
    static Path artifactPath(ModelInput model, VariantSpec variant, PipelineSettings settings) {
        return ArtifactPlanner.artifactPath(model.name(), variant, settings.ggufSplit());
    }

    /**
     * Writes {@code plan} to the artifact (a split into its folder, which is created) and returns the step result
     * every GGUF make step records: sizes, type mix, and {@code files}, every file written relative to dist (the
     * first shard first: the one readers open).
     */
    static ObjectNode write(ConversionPlan plan, HfCheckpoint checkpoint, Path artifact, PipelineSettings settings,
                            StepContext context) {
        Path target = context.resolve(artifact);
        if (settings.ggufSplit() != null) {
            try {
                Files.createDirectories(target);
            } catch (IOException e) {
                throw new OutputException(target + ": cannot create the folder of the split: " + e.getMessage(), e);
            }
            target = target.resolve(target.getFileName() + ".gguf");
        }
        ConversionReport report = GgufConversion.run(plan, checkpoint, target, settings.ggufSplit(), true,
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
        ArrayNode files = result.putArray("files");
        report.files().forEach(f -> files.add(ContentHashes.relative(context.dist(), f.toAbsolutePath())));
        return result;
    }

    /** The file a reader opens: the make step's first written file ({@code files}), else the artifact itself. */
    static Path modelFile(JsonNode made, Path artifact) {
        JsonNode files = made.path("files");
        return files.isArray() && !files.isEmpty() ? Path.of(files.get(0).asText()) : artifact;
    }

    @Override
    public JsonNode run(StepContext context) {
        ImatrixFile imatrix = variant.imatrix() ? ImatrixReader.read(context.resolve(ImatrixStep.path(model))) : null;
        try (HfCheckpoint checkpoint = HfCheckpoint.open(model.path())) {
            ConversionPlan plan = ConversionPlanner.planFromHf(checkpoint, new ConversionOptions(variant.recipe(),
                    imatrix, imatrix == null ? null : ImatrixStep.fileName(model), model.name()));
            return write(plan, checkpoint, outputs().getFirst(), settings, context);
        }
    }
}
