package io.falconq.cli.pipeline;

import io.falconq.cli.FalconqCli;
import io.falconq.runtime.eval.EvalProtocol;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.falconq.jobs.sensitivity.SensitivityCost;
import io.falconq.jobs.sensitivity.SensitivityJob;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code falconq pipeline --dry-run} over every real Falcon-H1 size, from their configs alone. */
class DryRunPlannerTest {
    private static List<Path> configs() throws IOException {
        try (Stream<Path> files = Files.list(ArtifactPlannerTest.shared().resolve("configs"))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    private static Path variantsFile() {
        return Path.of("").toAbsolutePath().getParent().resolve("examples/pipeline/falcon-h1-variants.txt");
    }

    @Test
    void plansEverySizeWithSizesTimesAndMemory() throws IOException {
        List<VariantSpec> variants = VariantList.read(variantsFile());
        DryRunPlanner.Options options = new DryRunPlanner.Options(EvalProtocol.FALCONQ, 512, 40, null,
                TextInput.read("builtin:en"), 512, 32, 0.01, 2);
        List<ModelInput> models = configs().stream().map(ModelInput::config).toList();
        DryRunPlanner.Plan plan = DryRunPlanner.plan(models, variants, options);
        assertEquals(6, plan.models().size());
        DryRunPlanner.ModelPlan previous = null;
        for (DryRunPlanner.ModelPlan m : plan.models()) {
            assertEquals(variants.size(), m.artifacts().size(), m.model().name());
            // original eval, one calibration pass, then make + evaluate per variant
            assertEquals(2 + 2 * variants.size(), m.steps().size(), m.model().name());
            for (DryRunPlanner.Step s : m.steps()) {
                assertTrue(s.seconds() > 0 && s.memoryBytes() > 0, m.model().name() + " " + s.label());
            }
            for (ArtifactPlanner.PlannedArtifact a : m.artifacts()) {
                assertTrue(a.fileBytes() > a.tensorBytes() && a.tensorBytes() > 0, a.path().toString());
            }
            if (previous != null && m.parameterCount() > previous.parameterCount()) {
                assertTrue(m.seconds() > previous.seconds() && m.peakMemory() > previous.peakMemory(),
                        m.model().name() + " is larger than " + previous.model().name() + " but planned cheaper");
            }
            previous = m;
        }
    }

    @Test
    void autoVariantsAddOneMeasurementPricedByTheJobsFormulaAndArePlannedAtTheirBudget() throws IOException {
        List<VariantSpec> variants = VariantList.parse("Q4_K_M,auto@Q4_K_M-size,auto@Q2_K-size,auto@3.5bpw");
        DryRunPlanner.Options options = new DryRunPlanner.Options(EvalProtocol.FALCONQ, 512, 40, null,
                TextInput.read("builtin:en"), 512, 32, 0.01, 2, SensitivityJob.Method.PROBE, 4, null);
        for (Path config : configs()) {
            ModelInput model = ModelInput.config(config);
            DryRunPlanner.ModelPlan m = DryRunPlanner.plan(List.of(model), variants, options).models().getFirst();
            // original eval, calibration (the imatrix the measurement and allocation use), the measurement, then
            // make + evaluate per variant
            assertEquals(3 + 2 * variants.size(), m.steps().size(), model.name());
            DryRunPlanner.Step measure = m.steps().get(2);
            assertEquals(MeasureStep.path(model), measure.artifact(), measure.label());
            SensitivityCost.Plan cost = SensitivityCost.plan(model.config(), SensitivityJob.defaultTypes(),
                    SensitivityJob.Method.PROBE, 4, 512, 2);
            assertEquals(cost.wallSeconds(), measure.seconds(), model.name());
            assertTrue(measure.label().contains("probe, 4 chunks"), measure.label());
            // auto@Q4_K_M-size is planned at the Q4_K_M file's size, the bpw budget at that rate of its elements
            assertEquals(m.artifacts().get(0).fileBytes(), m.artifacts().get(1).fileBytes(), model.name());
            assertTrue(m.artifacts().get(2).fileBytes() < m.artifacts().get(1).fileBytes(), model.name());
            ArtifactPlanner.PlannedArtifact bpw = m.artifacts().get(3);
            assertEquals(Math.floor(3.5 * bpw.elements() / 8), bpw.tensorBytes(), 0.0, model.name());
            assertTrue(m.artifacts().subList(1, 4).stream().noneMatch(ArtifactPlanner.PlannedArtifact::exact),
                    "an allocation's size is only bounded by its budget");
        }
    }

    @Test
    void theCommandPrintsEveryArtifactOfEverySize() throws IOException {
        List<Object> args = new java.util.ArrayList<>(List.of("pipeline", "--dry-run", "--variants-file",
                variantsFile().toString(), "--chunks", "20", "-o", "unused-dist"));
        for (Path config : configs()) {
            args.add("--config");
            args.add(config.toString());
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new FalconqCli().run(new PrintWriter(out), new PrintWriter(err),
                args.stream().map(String::valueOf).toArray(String[]::new));
        assertEquals(0, code, err.toString());
        String text = out.toString();
        for (Path config : configs()) {
            String name = config.getFileName().toString().replace(".json", "");
            for (VariantSpec v : VariantList.read(variantsFile())) {
                assertTrue(text.contains(ArtifactPlanner.artifactPath(name, v).toString()), name + " " + v.name() + "\n" + text);
            }
        }
        assertTrue(text.contains("all models:"), text);
        assertTrue(Files.notExists(Path.of("unused-dist")), "a dry run writes nothing");
    }

    @Test
    void aSplitVariantIsPlannedAsTheFolderOfShardsConvertWrites(@TempDir Path tmp) throws IOException {
        Path tiny = ArtifactPlannerTest.shared().resolve("models/falcon-h1-tiny");
        String text = run("pipeline", "--dry-run", "--model", tiny.toString(), "--variants", "Q8_0,w8",
                "--split-max-tensors", "20", "-o", tmp.resolve("dist").toString());
        // the shards falconq convert writes with the same rule: their folder and total size are what the plan says
        Files.createDirectories(tmp.resolve("shards"));
        run("convert", "--type", "Q8_0", "--split-max-tensors", "20", "-q", "-o",
                tmp.resolve("shards/tiny-Q8_0.gguf").toString(), tiny.toString());
        long shardBytes = 0;
        try (Stream<Path> shards = Files.list(tmp.resolve("shards"))) {
            for (Path shard : shards.toList()) {
                shardBytes += Files.size(shard);
            }
        }
        String folder = Path.of("falcon-h1-tiny", "falcon-h1-tiny-Q8_0").toString();
        java.util.regex.Matcher row = java.util.regex.Pattern.compile("Q8_0: convert to GGUF +(\\S+) +(\\S+ \\S+) ")
                .matcher(text);
        assertTrue(row.find(), text);
        assertEquals(folder, row.group(1), text);
        assertEquals(DryRunPlanner.bytes(shardBytes), row.group(2), text);
        ArtifactPlanner.PlannedArtifact planned = DryRunPlanner.plan(List.of(ModelInput.folder(tiny)),
                List.of(VariantSpec.parse("Q8_0")), new DryRunPlanner.Options(EvalProtocol.FALCONQ, 512, 1, null,
                        TextInput.read("builtin:en"), 512, 1, 0.01, 2, SensitivityJob.Method.DIRECT, 1,
                        io.falconq.formats.gguf.GgufSplit.Rule.maxTensors(20))).models().getFirst().artifacts().getFirst();
        assertEquals(shardBytes, planned.fileBytes(), "every shard's header and data, to the byte");
        assertTrue(text.contains(Path.of("falcon-h1-tiny", "falcon-h1-tiny-w8") + " "), "a GPTQ folder is never split\n"
                + text);
        assertTrue(Files.notExists(tmp.resolve("dist")), "a dry run writes nothing");
    }

    /** Runs falconq with {@code args}: its stdout; a nonzero exit fails with stderr. */
    private static String run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new FalconqCli().run(new PrintWriter(out), new PrintWriter(err), args);
        assertEquals(0, code, err.toString());
        return out.toString();
    }

    @Test
    void perLanguageTextsArePlannedWindowByWindowPerText() {
        ModelInput tiny = ModelInput.folder(ArtifactPlannerTest.shared().resolve("models/falcon-h1-tiny"));
        List<VariantSpec> q8 = List.of(VariantSpec.parse("Q8_0"));
        java.util.function.Function<String, Double> evalSeconds = data -> DryRunPlanner.plan(List.of(tiny), q8,
                new DryRunPlanner.Options(EvalProtocol.FALCONQ, 64, 1, TextSources.parse(List.of(data),
                        TextSources.Purpose.EVALUATION), TextInput.read("builtin:en"), 512, 4, 0.01, 2))
                .models().getFirst().steps().getFirst().seconds();
        double one = evalSeconds.apply("builtin:en-eval");
        double all = evalSeconds.apply("builtin:multi");
        // --chunks 1 is one window of 64 per text: 18 windows for builtin:multi, not one of the texts end to end
        assertTrue(all > 10 * one, "18 texts x 1 window: " + all + " s vs " + one + " s");
    }
}
