package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.List;

/**
 * One unit of pipeline work: calibrate a model, write one artifact, or evaluate one model file. A step declares
 * everything its outputs depend on ({@link #describeInputs}) so that the {@link PipelineRunner} can skip it when a
 * previous run already produced the same outputs from the same inputs.
 *
 * <p>Contract: {@link #run} writes each output atomically (an output either does not exist or is complete) and
 * returns the step's result as JSON, which the runner stores in the step's record and hands to later steps.
 */
public interface PipelineStep {
    /** Unique, path-safe id such as {@code falcon-h1-tiny/Q4_K_M/convert}; names the step's record file. */
    String id();

    /** One line for logs: {@code falcon-h1-tiny Q4_K_M: convert to GGUF}. */
    String label();

    /** Ids of steps that must run first (none by default); their keys and output hashes join this step's key. */
    default List<String> dependsOn() {
        return List.of();
    }

    /** Options and input files that determine the outputs and result. */
    void describeInputs(StepKey.Builder key);

    /** Files or folders this step creates, relative to the dist folder (may be empty: a result only). */
    List<Path> outputs();

    JsonNode run(StepContext context) throws Exception;
}
