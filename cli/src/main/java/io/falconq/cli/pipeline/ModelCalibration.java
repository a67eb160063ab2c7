package io.falconq.cli.pipeline;

import io.falconq.core.calib.ImportanceCollector;
import io.falconq.formats.io.ProgressListener;
import io.falconq.runtime.FalconH1Model;
import io.falconq.jobs.imatrix.CalibrationRunner;
import io.falconq.runtime.text.HfTokenizer;

/**
 * A model's calibration text, tokenized once and shared by its steps: as the importance matrix for {@code -imatrix}
 * GGUF variants ({@link #get}: the pass of {@code falconq calibrate}, {@link CalibrationRunner} with BOS written at
 * every chunk start when the tokenizer adds one), and as the sequences the int-quant jobs run layer by layer
 * ({@link #sequences}, the same chunks). Steps that were already done never ask, so a resumed run that needs
 * nothing does not calibrate at all.
 */
public final class ModelCalibration {
    /** What the importance pass collected. */
    public record Statistics(ImportanceCollector imatrix, CalibrationRunner.Summary summary) {
    }

    private final ModelInput model;
    private final PipelineSettings settings;
    private CalibrationTokens tokens;
    private Statistics statistics;

    public ModelCalibration(ModelInput model, PipelineSettings settings) {
        this.model = model;
        this.settings = settings;
    }

    /** True once the importance pass has run in this process. */
    public synchronized boolean done() {
        return statistics != null;
    }

    public synchronized Statistics get(ProgressListener progress) {
        if (statistics == null) {
            CalibrationTokens t = tokens();
            ImportanceCollector imatrix = new ImportanceCollector(false);
            try (FalconH1Model loaded = FalconH1Model.load(model.path())) {
                CalibrationRunner.Summary summary = CalibrationRunner.run(loaded, settings.threads(), t.stream(),
                        t.bos(), settings.calibCtx(), t.sequences().length, imatrix, progress);
                statistics = new Statistics(imatrix, summary);
            }
        }
        return statistics;
    }

    /** The calibration chunks as sequences of {@code calibCtx} ids, BOS first, for layer-by-layer jobs. */
    public synchronized int[][] sequences() {
        return tokens().sequences();
    }

    /** The calibration tokens and their record ({@link CalibrationTokens}), made once. */
    public synchronized CalibrationTokens tokens() {
        if (tokens == null) {
            try (HfTokenizer tokenizer = HfTokenizer.besideModel(model.path(),
                    "needed to tokenize the calibration text")) {
                tokens = CalibrationTokens.of(settings.calibTexts(), settings.seed(), tokenizer, settings.calibCtx(),
                        settings.calibChunks());
            }
        }
        return tokens;
    }
}
