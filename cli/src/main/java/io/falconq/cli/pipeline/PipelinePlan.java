package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.cli.report.AllocationReport;
import io.falconq.cli.report.CalibrationReport;
import io.falconq.cli.report.EvaluationSetup;
import io.falconq.cli.report.ModelReport;
import io.falconq.cli.report.Report;
import io.falconq.cli.report.VariantReport;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.safetensors.SafetensorsFile;
import io.falconq.formats.safetensors.SafetensorsTensorInfo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The steps of {@code falconq pipeline} and the report made from their records. Per model, in order: the
 * original's evaluation (its log-probabilities become every variant's baseline), the importance matrix when an
 * {@code -imatrix} or {@code auto@} variant asks for it, the sensitivity measurement when an {@code auto@} variant
 * asks for it, then for each variant its artifact and its evaluation.
 */
public final class PipelinePlan {
    private PipelinePlan() {
    }

    public static List<PipelineStep> steps(List<ModelInput> models, List<VariantSpec> variants, PipelineSettings settings) {
        List<PipelineStep> steps = new ArrayList<>();
        boolean anyAuto = variants.stream().anyMatch(v -> v instanceof VariantSpec.Auto);
        boolean anyImatrix = anyAuto || variants.stream().anyMatch(v -> v instanceof VariantSpec.Gguf g && g.imatrix());
        for (ModelInput model : models) {
            if (model.configOnly()) {
                throw new IllegalArgumentException(model.path() + ": a config alone can only be planned (--dry-run)");
            }
            ModelCalibration calibration = new ModelCalibration(model, settings);
            steps.add(new BaselineEvalStep(model, settings));
            if (anyImatrix) {
                steps.add(new ImatrixStep(model, settings, calibration));
            }
            if (anyAuto) {
                steps.add(new MeasureStep(model, settings, calibration));
            }
            for (VariantSpec variant : variants) {
                steps.add(switch (variant) {
                    case VariantSpec.Gguf gguf -> new ConvertStep(model, gguf, settings);
                    case VariantSpec.IntQuant intQuant -> new QuantizeStep(model, intQuant, settings, calibration);
                    case VariantSpec.Auto auto -> new AutoConvertStep(model, auto, settings);
                });
                steps.add(new VariantEvalStep(model, variant, settings));
            }
        }
        return steps;
    }

    /** The report of a finished run; every number comes from a step record. */
    public static Report report(List<ModelInput> models, List<VariantSpec> variants, PipelineSettings settings,
                                Map<String, StepRecord> records, ContentHashes hashes, Path dist, String toolVersion,
                                String createdAt) {
        List<ModelReport> modelReports = new ArrayList<>();
        EvalNumbers setup = null;
        List<EvalNumbers.Labelled> setupTexts = List.of();
        for (ModelInput model : models) {
            JsonNode baseRecord = records.get(BaselineEvalStep.id(model)).result();
            EvalNumbers base = numbers(baseRecord);
            setupTexts = setup == null ? EvalNumbers.languages(baseRecord) : setupTexts;
            setup = setup == null ? base : setup;
            if (base.scoredTokens() != setup.scoredTokens()) {
                throw new IllegalStateException(model.name() + " scored " + base.scoredTokens() + " tokens, "
                        + models.getFirst().name() + " " + setup.scoredTokens()
                        + ": models with different tokenizers cannot share one report table setup");
            }
            OriginalWeights original = OriginalWeights.of(model.path());
            ModelReport.BaselineResult baseline = new ModelReport.BaselineResult(original.fileBytes(),
                    8.0 * original.tensorBytes() / model.parameterCount(), base.ppl(), base.pplError(),
                    base.tokensPerSecond(), EvalNumbers.languages(baseRecord).stream()
                    .map(l -> new ModelReport.LanguagePpl(l.language(), l.numbers().scoredTokens(), l.numbers().ppl(),
                            l.numbers().pplError())).toList());
            List<VariantReport> variantReports = new ArrayList<>();
            for (VariantSpec variant : variants) {
                StepRecord make = records.get(ConvertStep.id(model, variant));
                JsonNode evalRecord = records.get(VariantEvalStep.id(model, variant)).result();
                EvalNumbers eval = numbers(evalRecord);
                JsonNode made = make.result();
                Map<String, Integer> typeMix = new TreeMap<>();
                made.get("typeMix").fields().forEachRemaining(e -> typeMix.put(e.getKey(), e.getValue().asInt()));
                Path artifact = ArtifactPlanner.artifactPath(model.name(), variant);
                StepRecord.OutputHash output = make.outputs().getFirst();
                boolean gguf = !(variant instanceof VariantSpec.IntQuant);
                long elements = gguf ? made.get("elements").asLong() : model.parameterCount();
                String sha = gguf ? output.sha256() : hashes.hash(dist.resolve(artifact).resolve("model.safetensors"));
                VariantReport.ArtifactRef ref = gguf && Files.isDirectory(dist.resolve(output.path()))
                        ? splitRef(made, dist, hashes)
                        : new VariantReport.ArtifactRef(output.path() + (gguf ? "" : "/model.safetensors"), sha);
                variantReports.add(new VariantReport(variant.name(),
                        gguf ? VariantReport.Kind.GGUF : VariantReport.Kind.GPTQ, typeMix, output.size(),
                        8.0 * made.get("tensorBytes").asLong() / elements, eval.ppl(), eval.pplError(),
                        eval.deltaPpl(), eval.deltaPplError(),
                        kld(eval),
                        eval.top1Percent(), eval.tokensPerSecond(),
                        ref,
                        EvalNumbers.languages(evalRecord).stream().map(l -> new VariantReport.LanguageResult(
                                l.language(), l.numbers().scoredTokens(), l.numbers().ppl(), l.numbers().pplError(),
                                l.numbers().deltaPpl(), l.numbers().deltaPplError(), kld(l.numbers()),
                                l.numbers().top1Percent())).toList(), allocation(made)));
            }
            modelReports.add(new ModelReport(model.name(), new ModelReport.ModelSource(model.path().toString(),
                    model.configSha256(), original.dtype()), model.parameterCount(), baseline, variantReports,
                    calibration(model, variants, records)));
        }
        List<EvaluationSetup.EvalText> texts = new ArrayList<>();
        if (settings.evalTexts().labelled()) {
            for (int i = 0; i < setupTexts.size(); i++) {
                TextSources.Text t = settings.evalTexts().texts().get(i);
                texts.add(new EvaluationSetup.EvalText(t.language(), t.input().label(), t.input().sha256(),
                        setupTexts.get(i).numbers().windows(), setupTexts.get(i).numbers().scoredTokens()));
            }
        }
        EvaluationSetup evaluation = new EvaluationSetup(settings.protocol().label(), settings.evalTexts().label(),
                settings.evalTexts().sha256(), settings.ctx(), setup.windows(), setup.scoredTokens(), texts);
        return Report.of(toolVersion, createdAt, evaluation, modelReports);
    }

    /** A split GGUF: its first shard, and every shard with size and hash, from the make step's {@code files}. */
    private static VariantReport.ArtifactRef splitRef(JsonNode made, Path dist, ContentHashes hashes) {
        List<VariantReport.Shard> shards = new ArrayList<>();
        for (JsonNode f : made.get("files")) {
            Path file = dist.resolve(f.asText());
            shards.add(new VariantReport.Shard(f.asText(), ContentHashes.size(file), hashes.hash(file)));
        }
        return new VariantReport.ArtifactRef(shards.getFirst().path(), shards.getFirst().sha256(), shards);
    }

    /** The allocation an {@link AutoConvertStep} recorded, or null for any other variant. */
    private static AllocationReport allocation(JsonNode made) {
        JsonNode a = made.get("allocation");
        if (a == null) {
            return null;
        }
        Map<String, String> types = new TreeMap<>();
        a.get("types").fields().forEachRemaining(e -> types.put(e.getKey(), e.getValue().asText()));
        Map<String, Double> reference = new TreeMap<>();
        a.get("referenceDeltaKld").fields().forEachRemaining(e -> reference.put(e.getKey(), e.getValue().asDouble()));
        return new AllocationReport(a.get("budget").asText(), a.get("fileType").asText(),
                a.get("predictedDeltaKld").asDouble(), a.get("exact").asBoolean(), types,
                a.get("referenceType").asText(), reference);
    }

    private static VariantReport.KldStats kld(EvalNumbers n) {
        return new VariantReport.KldStats(n.kldMean(), n.kldMeanError(), n.kldMedian(), n.kldP99(), n.kldMax());
    }

    /** The calibration record of the model's first calibrated step (all share one {@link ModelCalibration}). */
    private static CalibrationReport calibration(ModelInput model, List<VariantSpec> variants,
                                                 Map<String, StepRecord> records) {
        List<String> ids = new ArrayList<>();
        ids.add(ImatrixStep.id(model));
        variants.forEach(v -> ids.add(ConvertStep.id(model, v)));
        for (String id : ids) {
            StepRecord r = records.get(id);
            if (r != null && r.result().has("calibration")) {
                try {
                    return StepStore.MAPPER.treeToValue(r.result().get("calibration"), CalibrationReport.class);
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new IllegalStateException(id + ": calibration record unreadable: " + e.getOriginalMessage(), e);
                }
            }
        }
        return null;
    }

    static EvalNumbers numbers(JsonNode result) {
        return EvalNumbers.overall(result);
    }

    /** Size, tensor bytes and storage type of a checkpoint's weights (headers only). */
    record OriginalWeights(long fileBytes, long tensorBytes, String dtype) {
        static OriginalWeights of(Path folder) {
            try (HfCheckpoint checkpoint = HfCheckpoint.open(folder)) {
                long fileBytes = 0;
                long tensorBytes = 0;
                Map<String, Long> bytesByDtype = new HashMap<>();
                for (SafetensorsFile shard : checkpoint.shards()) {
                    fileBytes += shard.fileSize();
                    for (SafetensorsTensorInfo t : shard.infos()) {
                        tensorBytes += t.byteSize();
                        bytesByDtype.merge(t.dtype().name(), t.byteSize(), Long::sum);
                    }
                }
                String dtype = bytesByDtype.entrySet().stream().max(Map.Entry.comparingByValue())
                        .map(Map.Entry::getKey).orElse("none");
                return new OriginalWeights(fileBytes, tensorBytes, dtype);
            }
        }
    }
}
