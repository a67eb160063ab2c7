package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.cli.options.AllocationOptions;
import io.falconq.formats.io.Sha256;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.core.convert.GgufConversion;
import io.falconq.core.convert.alloc.Allocation;
import io.falconq.core.convert.alloc.AllocationBudget;
import io.falconq.core.convert.alloc.AllocationPlanner;
import io.falconq.core.convert.alloc.SensitivityTable;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One {@code auto@} variant, made as {@code falconq convert MODEL --imatrix IMATRIX --sensitivity TABLE
 * --target-size SIZE|--target-bpw BITS --name MODEL} makes it: {@link AllocationPlanner#allocate} on the converter's
 * planner, refused when a stock mix of at most its size is predicted better
 * ({@link AllocationOptions#refuseWorseThanStock}), written by {@link GgufConversion#run}. A size budget is the exact
 * byte size of the named stock mix's file for this model, planned by the converter ({@link ArtifactPlanner}).
 */
public record AutoConvertStep(ModelInput model, VariantSpec.Auto variant,
                              PipelineSettings settings) implements PipelineStep {
    /** The type the report shows every tensor's measured sensitivity at: the middle of the default candidates. */
    static final GgmlType REFERENCE_TYPE = GgmlType.Q4_K;

    @Override
    public String id() {
        return ConvertStep.id(model, variant);
    }

    @Override
    public String label() {
        return model.name() + " " + variant.name() + ": allocate types and convert to GGUF";
    }

    @Override
    public List<String> dependsOn() {
        return List.of(ImatrixStep.id(model), MeasureStep.id(model));
    }

    @Override
    public void describeInputs(StepKey.Builder key) {
        model.describe(key);
        key.option("budget", variant.name());
        settings.describeGgufSplit(key);
    }

    @Override
    public List<Path> outputs() {
        return List.of(ConvertStep.artifactPath(model, variant, settings));
    }

    @Override
    public JsonNode run(StepContext context) {
        Path tablePath = context.resolve(MeasureStep.path(model));
        ImatrixFile imatrix = ImatrixReader.read(context.resolve(ImatrixStep.path(model)));
        try (HfCheckpoint checkpoint = HfCheckpoint.open(model.path())) {
            ConversionOptions options = new ConversionOptions(null, imatrix, ImatrixStep.fileName(model),
                    model.name());
            AllocationBudget budget = budget(checkpoint, imatrix);
            List<String> notes = new ArrayList<>();
            SensitivityTable table = SensitivityTable.read(tablePath);
            Allocation a = AllocationPlanner.allocate(o -> ConversionPlanner.planFromHf(checkpoint, o), options, table,
                    Sha256.ofFile(tablePath), budget, notes);
            AllocationOptions.refuseWorseThanStock(a);
            ObjectNode result = ConvertStep.write(a.plan(), checkpoint, outputs().getFirst(), settings, context);
            ObjectNode allocation = result.putObject("allocation");
            allocation.put("budget", budget.label());
            allocation.put("budgetValue", budget.value());
            allocation.put("fileType", a.plan().recipe().name());
            allocation.put("predictedDeltaKld", a.predictedDeltaKld());
            allocation.put("exact", a.exact());
            allocation.put("sensitivity", MeasureStep.path(model).toString());
            ObjectNode types = allocation.putObject("types");
            a.quantizedTypes().forEach((name, type) -> types.put(name, type.name()));
            allocation.putPOJO("allocated", a.allocated());
            ObjectNode stock = allocation.putObject("stock");
            for (Allocation.StockMix s : a.stock()) {
                stock.putObject(s.name()).put("fileBytes", s.fileBytes()).put("bitsPerWeight", s.bitsPerWeight())
                        .put("predictedDeltaKld", s.predictedDeltaKld());
            }
            allocation.putPOJO("notes", notes);
            allocation.put("referenceType", REFERENCE_TYPE.name());
            ObjectNode reference = allocation.putObject("referenceDeltaKld");
            for (SensitivityTable.Entry e : table.tensors()) {
                Double d = e.deltaKld().get(REFERENCE_TYPE);
                if (d != null) {
                    reference.put(e.name(), d);
                }
            }
            return result;
        }
    }

    private AllocationBudget budget(HfCheckpoint checkpoint, ImatrixFile imatrix) {
        VariantSpec.Gguf mix = variant.sizeOf();
        if (mix == null) {
            return AllocationBudget.bitsPerWeight(variant.bitsPerWeight());
        }
        ConversionOptions stock = mix.imatrix()
                ? new ConversionOptions(mix.recipe(), imatrix, ImatrixStep.fileName(model), model.name())
                : new ConversionOptions(mix.recipe(), null, null, model.name());
        return AllocationBudget.fileBytes(ArtifactPlanner.planGgufWith(model, checkpoint, mix, stock).fileBytes());
    }
}
