package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.io.ProgressListener;
import io.falconq.runtime.eval.MultiTextEvaluation;
import io.falconq.runtime.eval.PerplexityEvaluator;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * What a running step may use: the dist folder, the results of the steps it depends on, worker threads and a
 * progress listener.
 */
public record StepContext(Path dist, Map<String, StepRecord> upstream, int threads, ProgressListener progress) {

    /** The stored result of an upstream step; a step may only read what it declared in {@code dependsOn}. */
    public JsonNode result(String stepId) {
        StepRecord record = upstream.get(stepId);
        if (record == null) {
            throw new IllegalStateException("step result " + stepId + " requested but not declared in dependsOn");
        }
        return record.result();
    }

    /** The record of an upstream step (its outputs and their hashes). */
    public StepRecord record(String stepId) {
        StepRecord record = upstream.get(stepId);
        if (record == null) {
            throw new IllegalStateException("step record " + stepId + " requested but not declared in dependsOn");
        }
        return record;
    }

    public Path resolve(Path relative) {
        return dist.resolve(relative);
    }

    /** Progress of scoring evaluation windows: {@code window 3/8  ppl 12.3456}. */
    public PerplexityEvaluator.Listener windowProgress() {
        return (done, total, ppl, tokensPerSecond) -> progress.onStep(done, total,
                String.format(Locale.ROOT, "window %d/%d  ppl %.4f", done, total, ppl));
    }

    /** The same over several texts, each window's text named: {@code window 3/8  de ppl 12.3456}. */
    public MultiTextEvaluation.Listener textWindowProgress() {
        return (label, done, total, ppl) -> progress.onStep(done, total,
                String.format(Locale.ROOT, "window %d/%d  %s ppl %.4f", done, total, label, ppl));
    }
}
