package io.falconq.cli.pipeline;

import io.falconq.runtime.eval.EvalProtocol;

import java.util.Objects;

/**
 * The options shared by every model and variant of one pipeline run.
 *
 * @param evalText     text every model file is scored on
 * @param protocol     how the text is cut into windows and scored (SPEC §4)
 * @param ctx          tokens per evaluation window
 * @param chunks       evaluation windows (≤ 0: all)
 * @param calibText    calibration text for imatrix, clip, awq and gptq
 * @param calibCtx     tokens per calibration chunk
 * @param calibChunks  calibration chunks (≤ 0: all whole chunks)
 * @param dampPercent  GPTQ damping
 * @param threads      worker threads for every step
 * @param toolVersion  falconq's version; part of every step key, so an upgrade remakes artifacts
 */
public record PipelineSettings(TextInput evalText, EvalProtocol protocol, int ctx, int chunks, TextInput calibText,
                               int calibCtx, int calibChunks, double dampPercent, int threads, String toolVersion) {
    public PipelineSettings {
        Objects.requireNonNull(evalText, "evalText");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(calibText, "calibText");
        Objects.requireNonNull(toolVersion, "toolVersion");
        if (ctx < 2 || calibCtx < 16 || threads < 1) {
            throw new IllegalArgumentException("ctx ≥ 2, calibration ctx ≥ 16 and threads ≥ 1 expected, found "
                    + ctx + ", " + calibCtx + ", " + threads);
        }
    }

    /** The falconq version, in every step's key: an upgrade remakes everything (development builds say "dev"). */
    void describeTool(StepKey.Builder key) {
        key.option("falconq", toolVersion);
    }

    /** The key entries of the evaluation: the text's content and how it is scored. */
    void describeEvaluation(StepKey.Builder key) {
        key.option("eval.text.sha256", evalText.sha256());
        key.option("eval.protocol", protocol.label());
        key.option("eval.ctx", ctx);
        key.option("eval.chunks", chunks);
    }

    /** The key entries of the calibration pass. */
    void describeCalibration(StepKey.Builder key) {
        key.option("calib.text.sha256", calibText.sha256());
        key.option("calib.ctx", calibCtx);
        key.option("calib.chunks", calibChunks);
    }
}
