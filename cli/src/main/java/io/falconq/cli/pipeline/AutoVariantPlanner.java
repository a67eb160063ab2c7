package io.falconq.cli.pipeline;

import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.jobs.sensitivity.SensitivityCost;
import io.falconq.jobs.sensitivity.SensitivityJob;
import io.falconq.core.model.FalconH1Config;

import java.nio.file.Path;
import java.util.Map;

/**
 * The dry run's view of {@code auto@} variants: the sensitivity measurement priced by {@link SensitivityCost} (the
 * job's own formula) and each variant's size bound — the budget, since the types are only chosen from the measured
 * table.
 */
final class AutoVariantPlanner {
    /** Bytes per tensor and candidate type in sensitivity.json (name, role, layer, a shortest-form double each). */
    private static final long TABLE_BYTES_PER_VALUE = 40;

    private AutoVariantPlanner() {
    }

    /**
     * The measurement on the first {@code measureChunks} calibration chunks, as {@link MeasureStep} runs it: time by
     * the job's formula; memory the F32 reference it maps, the job's heap and the runtime.
     */
    static DryRunPlanner.Step measureStep(ModelInput model, DryRunPlanner.Options options, int calibChunks) {
        FalconH1Config c = model.config();
        int chunks = Math.max(1, MeasureStep.chunks(calibChunks, options.measureChunks()));
        SensitivityCost.Plan p = SensitivityCost.plan(c, SensitivityJob.defaultTypes(), options.measureMethod(), chunks,
                options.calibCtx(), options.threads());
        long tableBytes = (long) p.tensors() * (SensitivityJob.defaultTypes().size() + 3) * TABLE_BYTES_PER_VALUE;
        return new DryRunPlanner.Step("measure (" + options.measureMethod().label() + ", " + chunks + " chunks)",
                MeasureStep.path(model), tableBytes, false, p.wallSeconds(), CostModel.RUNTIME_BASE_BYTES
                + 4L * model.parameterCount() + SensitivityCost.heapBytes(c, chunks, options.calibCtx()));
    }

    /**
     * An {@code auto@} variant's artifact at its budget: the stock mix's planned file for a size budget, for a
     * bits-per-weight budget the tensor data at exactly that rate with the header of the file type's plan.
     */
    static ArtifactPlanner.PlannedArtifact plan(ModelInput model, HfCheckpoint checkpoint, VariantSpec.Auto auto,
                                                ArtifactPlanner.ImatrixLabel label, GgufSplit.Rule split) {
        VariantSpec.Gguf mix = fileTypeGuess(auto);
        ArtifactPlanner.PlannedArtifact stock = ArtifactPlanner.planGguf(model, checkpoint, mix, label, split);
        Path path = ArtifactPlanner.artifactPath(model.name(), auto, split);
        if (auto.sizeOf() != null) {
            return new ArtifactPlanner.PlannedArtifact(model.name(), auto, path, stock.fileBytes(), stock.tensorBytes(),
                    stock.elements(), Map.of(), false);
        }
        long tensorBytes = (long) Math.floor(auto.bitsPerWeight() * stock.elements() / 8);
        return new ArtifactPlanner.PlannedArtifact(model.name(), auto, path,
                stock.fileBytes() - stock.tensorBytes() + tensorBytes, tensorBytes, stock.elements(), Map.of(), false);
    }

    /** The stock mix a size budget names; for a bits-per-weight budget Q4_K_M with the imatrix (cost and header only). */
    static VariantSpec.Gguf fileTypeGuess(VariantSpec.Auto auto) {
        return auto.sizeOf() != null ? auto.sizeOf()
                : new VariantSpec.Gguf(QuantRecipe.Q4_K_M.name() + VariantSpec.IMATRIX_SUFFIX, QuantRecipe.Q4_K_M, true);
    }
}
