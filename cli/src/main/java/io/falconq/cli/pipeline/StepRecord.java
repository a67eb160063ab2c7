package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Objects;

/**
 * What a finished step leaves in {@code dist/.falconq/steps/<id>.json}: the key it ran with, its outputs with
 * their content hashes, and its result. The record is written (atomically) only after every output is complete,
 * so its presence with a matching key means the step need not run again.
 *
 * @param stepId  {@link PipelineStep#id()}
 * @param key     {@link StepKey} the outputs were made from
 * @param outputs in {@link PipelineStep#outputs()} order
 * @param result  what {@link PipelineStep#run} returned
 * @param seconds    wall time of the run that made the outputs
 * @param cpuSeconds CPU time of the whole process during that run (all threads, GC included): with the step's
 *                   amount of work, what {@link CostModel}'s constants are measured from
 * @param peakRssBytes peak resident memory of the process during that run (Linux; 0 where not measured)
 */
public record StepRecord(String stepId, String key, List<OutputHash> outputs, JsonNode result, double seconds,
                         double cpuSeconds, long peakRssBytes) {
    public StepRecord {
        Objects.requireNonNull(stepId, "stepId");
        Objects.requireNonNull(key, "key");
        outputs = List.copyOf(outputs);
        Objects.requireNonNull(result, "result");
    }

    /**
     * @param path         relative to dist, {@code /} separators
     * @param size         bytes (summed over files for a folder)
     * @param lastModified milliseconds, the newest file for a folder; only a hint that lets an unchanged output
     *                     skip re-hashing
     * @param sha256       {@link ContentHashes} of the file or folder
     */
    public record OutputHash(String path, long size, long lastModified, String sha256) {
    }
}
