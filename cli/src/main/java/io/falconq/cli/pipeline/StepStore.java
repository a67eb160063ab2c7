package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.OutputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The pipeline's resume state: one {@link StepRecord} per finished step under {@code dist/.falconq/steps/}. A
 * record that cannot be read (say, from an older falconq) is treated as absent, which only costs a re-run.
 */
public final class StepStore {
    public static final String STATE_DIR = ".falconq";
    private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*");

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final Path stepsDir;

    public StepStore(Path dist) {
        this.stepsDir = dist.resolve(STATE_DIR).resolve("steps");
    }

    public static Path stateDir(Path dist) {
        return dist.resolve(STATE_DIR);
    }

    Path recordFile(String stepId) {
        if (!SAFE_ID.matcher(stepId).matches() || stepId.contains("..")) {
            throw new IllegalArgumentException("step id is not a safe relative path: " + stepId);
        }
        return stepsDir.resolve(stepId + ".json");
    }

    public Optional<StepRecord> read(String stepId) {
        Path file = recordFile(stepId);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            StepRecord record = MAPPER.readValue(file.toFile(), StepRecord.class);
            return stepId.equals(record.stepId()) ? Optional.of(record) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    public void write(StepRecord record) {
        Path file = recordFile(record.stepId());
        try {
            Files.createDirectories(file.getParent());
            AtomicOutput.writeBytes(file, MAPPER.writeValueAsBytes(record), true);
        } catch (IOException e) {
            throw new OutputException(file + ": cannot write step record: " + e.getMessage(), e);
        }
    }

    /** Forgets a step, so it runs again (used before re-running a step whose outputs changed). */
    public void delete(String stepId) {
        try {
            Files.deleteIfExists(recordFile(stepId));
        } catch (IOException e) {
            throw new OutputException(recordFile(stepId) + ": cannot delete: " + e.getMessage(), e);
        }
    }
}
