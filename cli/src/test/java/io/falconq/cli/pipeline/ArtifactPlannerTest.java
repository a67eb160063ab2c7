package io.falconq.cli.pipeline;

import io.falconq.formats.testing.SharedGroundTruth;
import io.falconq.cli.SizeEstimate;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.imatrix.ImatrixReader;
import io.falconq.formats.io.ProgressListener;
import io.falconq.jobs.intquant.AwqLoss;
import io.falconq.jobs.intquant.IntQuantJob;
import io.falconq.jobs.intquant.IntQuantMethod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Predicted artifact sizes against independent truth: the files llama.cpp's own llama-quantize made from the tiny
 * model ({@code shared/llamacpp}, sizes read from disk), and inspect's planned tensor bytes for the six real configs.
 */
class ArtifactPlannerTest {
    static Path shared() {
        return SharedGroundTruth.root();
    }

    private static final List<String> MIXES = List.of("Q8_0", "Q6_K", "Q5_K_M", "Q5_0", "Q4_K_M", "Q4_0", "Q3_K_M",
            "Q2_K", "F16");

    @Test
    void folderPlansEqualTheSizesOfLlamaQuantizesFilesToTheByte() throws IOException {
        Path tiny = shared().resolve("models/falcon-h1-tiny");
        ModelInput model = ModelInput.folder(tiny);
        try (HfCheckpoint checkpoint = HfCheckpoint.open(tiny)) {
            for (String mix : MIXES) {
                VariantSpec.Gguf variant = (VariantSpec.Gguf) VariantSpec.parse(mix);
                ArtifactPlanner.PlannedArtifact planned = ArtifactPlanner.planGguf(model, checkpoint, variant, null, null);
                long real = Files.size(shared().resolve("llamacpp/tiny-" + mix + ".gguf"));
                assertEquals(real, planned.fileBytes(), mix);
                assertTrue(planned.exact());
            }
            // llamacpp/README.md: imatrix files were made from the folder above with this imatrix path; the
            // dataset and chunk count they record come from the imatrix file itself
            ImatrixFile imatrix = ImatrixReader.read(shared().resolve("llamacpp/imatrix-calib.gguf"));
            ArtifactPlanner.ImatrixLabel label = new ArtifactPlanner.ImatrixLabel("llamacpp/imatrix-calib.gguf",
                    imatrix.datasets().getFirst(), imatrix.chunkCount());
            for (String mix : List.of("Q4_K_M", "Q3_K_M", "Q2_K")) {
                VariantSpec.Gguf variant = (VariantSpec.Gguf) VariantSpec.parse(mix + "-imatrix");
                long real = Files.size(shared().resolve("llamacpp/tiny-" + mix + "-imatrix.gguf"));
                assertEquals(real, ArtifactPlanner.planGguf(model, checkpoint, variant, label, null).fileBytes(), mix + "-imatrix");
            }
        }
    }

    @Test
    void configPlansHaveTheSameTensorsAndEstimateTheTokenizerWithinOnePercent() {
        Path tiny = shared().resolve("models/falcon-h1-tiny");
        ModelInput folder = ModelInput.folder(tiny);
        ModelInput config = ModelInput.config(tiny.resolve("config.json"));
        assertEquals("falcon-h1-tiny", config.name());
        try (HfCheckpoint checkpoint = HfCheckpoint.open(tiny)) {
            for (String mix : MIXES) {
                VariantSpec.Gguf variant = (VariantSpec.Gguf) VariantSpec.parse(mix);
                ArtifactPlanner.PlannedArtifact exact = ArtifactPlanner.planGguf(folder, checkpoint, variant, null, null);
                ArtifactPlanner.PlannedArtifact estimate = ArtifactPlanner.planGguf(config, null, variant, null, null);
                assertEquals(exact.tensorBytes(), estimate.tensorBytes(), mix);
                assertEquals(exact.typeMix(), estimate.typeMix(), mix);
                assertEquals(exact.elements(), estimate.elements(), mix);
                double error = Math.abs(estimate.fileBytes() - exact.fileBytes()) / (double) exact.fileBytes();
                // the tiny model's header is a large share of its file (4096-token vocabulary, 3 MB files)
                assertTrue(error < 0.01, mix + ": config-only estimate " + estimate.fileBytes() + " vs "
                        + exact.fileBytes() + " (" + error * 100 + " %)");
            }
        }
    }

    @Test
    void configPlansOfEveryRealSizeMatchInspectsTensorBytes() throws IOException {
        List<Path> configs;
        try (Stream<Path> files = Files.list(shared().resolve("configs"))) {
            configs = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        assertEquals(6, configs.size(), configs::toString);
        for (Path file : configs) {
            ModelInput model = ModelInput.config(file);
            for (String mix : SizeEstimate.MIXES) {
                ArtifactPlanner.PlannedArtifact planned = ArtifactPlanner.planGguf(model, null,
                        (VariantSpec.Gguf) VariantSpec.parse(mix), null, null);
                SizeEstimate.Estimate inspect = SizeEstimate.estimate(model.config(), QuantRecipe.named(mix));
                assertEquals(inspect.tensorBytes(), planned.tensorBytes(), file.getFileName() + " " + mix);
                assertEquals(inspect.elements(), planned.elements(), file.getFileName() + " " + mix);
                Map<String, Integer> inspectTypes = new TreeMap<>();
                SizeEstimate.plan(model.config(), QuantRecipe.named(mix)).tensors()
                        .forEach(t -> inspectTypes.merge(t.type().name(), 1, Integer::sum));
                assertEquals(inspectTypes, planned.typeMix(), file.getFileName() + " " + mix);
                assertTrue(planned.fileBytes() > planned.tensorBytes());
            }
        }
    }

    @Test
    void gptqFolderPlansEqualWhatTheIntQuantJobWrites(@TempDir Path tmp) {
        Path tiny = shared().resolve("models/falcon-h1-tiny");
        ModelInput model = ModelInput.folder(tiny);
        try (HfCheckpoint checkpoint = HfCheckpoint.open(tiny)) {
            for (String name : List.of("w8", "w4", "w4-g64")) {
                VariantSpec.IntQuant variant = (VariantSpec.IntQuant) VariantSpec.parse(name);
                Path out = tmp.resolve(name);
                IntQuantJob.run(tiny, new IntQuantJob.Options(variant.scheme(), IntQuantMethod.RTN, 0.01,
                        AwqLoss.NORMED_OUTPUT, IntQuantJob.DEFAULT_MAX_SHARD_BYTES, 2), null, out, false, ProgressListener.NONE);
                ArtifactPlanner.PlannedArtifact planned = ArtifactPlanner.planGptq(model, checkpoint, variant, 0.01);
                assertEquals(ContentHashes.size(out), planned.fileBytes(), name);
                assertTrue(planned.exact());
                assertFalse(ArtifactPlanner.planGptq(model, checkpoint, (VariantSpec.IntQuant) VariantSpec.parse(
                        "w4-gptq"), 0.01).exact(), "a calibrated folder's config holds the calibration record");
                QuantizeStep.FolderSummary written = QuantizeStep.summarize(out, variant.scheme().bits());
                assertEquals(written.tensorBytes(), planned.tensorBytes(), name);
                assertEquals(written.typeMix(), planned.typeMix(), name);
                // from the config alone: same tensors (the tiny checkpoint is BF16), estimated tokenizer files
                ArtifactPlanner.PlannedArtifact estimate = ArtifactPlanner.planGptq(
                        ModelInput.config(tiny.resolve("config.json")), null, variant, 0.01);
                assertEquals(planned.tensorBytes(), estimate.tensorBytes(), name);
                double error = Math.abs(estimate.fileBytes() - planned.fileBytes()) / (double) planned.fileBytes();
                assertTrue(error < 0.01, name + ": config-only estimate off by " + error * 100 + " %");
            }
        }
    }
}
