package io.falconq.cli.pipeline;

import io.falconq.calib.LinearInputObserver;
import io.falconq.calib.ImportanceCollector;
import io.falconq.calib.LinearInputStats;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.ProgressListener;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.calib.CalibrationRunner;
import io.falconq.runtime.text.HfTokenizer;

import java.nio.file.Path;

/**
 * "Calibrate once per model": the first step that needs calibration statistics runs the calibration text through
 * the model once, collecting at the same time what every calibrated variant of this model needs (the importance
 * matrix for {@code -imatrix} GGUF variants, the linear-input statistics and Hessians for clip/awq/gptq). Steps
 * that were already done never ask, so a resumed run that needs nothing does not calibrate at all.
 *
 * <p>The pass is {@code falconq calibrate}'s: {@link CalibrationRunner} with the model's tokenizer, BOS written at
 * every chunk start when the tokenizer adds one. {@link LinearInputObserver#both} feeds the two collectors the same
 * activations they would see alone.
 */
public final class ModelCalibration {
    /** What the pass collected. */
    public record Statistics(ImportanceCollector imatrix, LinearInputStats linearInputs, CalibrationRunner.Summary summary) {
    }

    private final ModelInput model;
    private final PipelineSettings settings;
    private final boolean hessians;
    private final boolean awqSamples;
    private Statistics statistics;

    /**
     * @param hessians   collect GPTQ/AWQ Hessians too (costly: one in×in matrix per linear)
     * @param awqSamples keep AWQ's activation samples too (about 32 MB per layer at hidden 1024)
     */
    public ModelCalibration(ModelInput model, PipelineSettings settings, boolean hessians, boolean awqSamples) {
        this.model = model;
        this.settings = settings;
        this.hessians = hessians;
        this.awqSamples = awqSamples;
    }

    /** True once the pass has run in this process. */
    public synchronized boolean done() {
        return statistics != null;
    }

    public synchronized Statistics get(ProgressListener progress) {
        if (statistics == null) {
            statistics = run(progress);
        }
        return statistics;
    }

    private Statistics run(ProgressListener progress) {
        ImportanceCollector imatrix = new ImportanceCollector(false);
        LinearInputStats linearInputs = new LinearInputStats(hessians, awqSamples);
        try (FalconH1Model loaded = FalconH1Model.load(model.path())) {
            Path tokenizerDir = loaded.tokenizerDir().orElseThrow(() -> new InvalidInputException(model.path()
                    + ": no tokenizer.json beside the model (needed to tokenize the calibration text)"));
            int[] ids;
            int bos;
            try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir)) {
                ids = tokenizer.encodeForModel(settings.calibText().text());
                bos = tokenizer.addsBos() && tokenizer.bosId().isPresent() ? tokenizer.bosId().getAsInt() : -1;
            }
            CalibrationRunner.Summary summary = CalibrationRunner.run(loaded, settings.threads(), ids, bos,
                    settings.calibCtx(), settings.calibChunks(), LinearInputObserver.both(imatrix, linearInputs), progress);
            return new Statistics(imatrix, linearInputs, summary);
        }
    }
}
