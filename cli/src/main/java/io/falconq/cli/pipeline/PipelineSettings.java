package io.falconq.cli.pipeline;

import io.falconq.formats.gguf.GgufSplit;
import io.falconq.jobs.sensitivity.SensitivityJob;
import io.falconq.runtime.eval.EvalProtocol;

import java.util.Objects;

/**
 * The options shared by every model and variant of one pipeline run.
 *
 * @param evalTexts    texts every model file is scored on (per language when labelled)
 * @param protocol     how the text is cut into windows and scored (SPEC §4)
 * @param ctx          tokens per evaluation window
 * @param chunks       evaluation windows (≤ 0: all)
 * @param calibTexts   calibration texts for imatrix, clip, awq and gptq ({@link CalibrationTokens})
 * @param seed         seed of a calibration mix
 * @param calibCtx     tokens per calibration chunk
 * @param calibChunks  calibration chunks (≤ 0: all whole chunks)
 * @param dampPercent  GPTQ damping
 * @param threads      worker threads for every step
 * @param measureMethod how the sensitivities of {@code auto@} variants are measured ({@link MeasureStep})
 * @param measureChunks the first this many calibration sequences are measured on (≤ 0: all)
 * @param ggufSplit    how GGUF variants are split ({@code --split-max-size|--split-max-tensors}), or null for one file
 */
public record PipelineSettings(TextSources evalTexts, EvalProtocol protocol, int ctx, int chunks,
                               TextSources calibTexts, long seed, int calibCtx, int calibChunks, double dampPercent,
                               int threads, SensitivityJob.Method measureMethod, int measureChunks,
                               GgufSplit.Rule ggufSplit) {
    public PipelineSettings {
        Objects.requireNonNull(measureMethod, "measureMethod");
        Objects.requireNonNull(evalTexts, "evalTexts");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(calibTexts, "calibTexts");
        if (ctx < 2 || calibCtx < 16 || threads < 1) {
            throw new IllegalArgumentException("ctx ≥ 2, calibration ctx ≥ 16 and threads ≥ 1 expected, found "
                    + ctx + ", " + calibCtx + ", " + threads);
        }
    }

    /** The split rule of GGUF variants, in their make step's key (absent for one file, so older keys still hold). */
    void describeGgufSplit(StepKey.Builder key) {
        if (ggufSplit != null) {
            key.option("gguf.split", ggufSplit.toString());
        }
    }

    /** The key entries of the evaluation: the text's content and how it is scored. */
    void describeEvaluation(StepKey.Builder key) {
        key.option("eval.text.sha256", evalTexts.sha256());
        if (evalTexts.labelled()) {
            key.option("eval.texts", String.join(",", evalTexts.texts().stream().map(TextSources.Text::language)
                    .toList()));
        }
        key.option("eval.protocol", protocol.label());
        key.option("eval.ctx", ctx);
        key.option("eval.chunks", chunks);
    }

    /** The key entries of the calibration pass. */
    void describeCalibration(StepKey.Builder key) {
        key.option("calib.text.sha256", calibTexts.sha256());
        if (calibTexts.texts().size() > 1) {
            key.option("calib.seed", seed);
        }
        key.option("calib.ctx", calibCtx);
        key.option("calib.chunks", calibChunks);
    }
}
