package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.cli.progress.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PipelineRunnerTest {
    @TempDir
    Path dist;

    /** Counts how often each step really ran, across runners. */
    private final Map<String, Integer> runs = new HashMap<>();
    private final List<PipelineEvent> events = new ArrayList<>();

    /**
     * A step that writes {@code <id>.out} = its option value plus the upstream outputs' text, like a converter
     * whose artifact depends on a calibration step. {@code failAfterWrite} simulates a crash between the output
     * and the record.
     */
    private final class WritingStep implements PipelineStep {
        final String id;
        final String option;
        final List<String> dependsOn;
        boolean failAfterWrite;
        boolean failBeforeWrite;

        WritingStep(String id, String option, String... dependsOn) {
            this.id = id;
            this.option = option;
            this.dependsOn = List.of(dependsOn);
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public String label() {
            return "make " + id;
        }

        @Override
        public List<String> dependsOn() {
            return dependsOn;
        }

        @Override
        public void describeInputs(StepKey.Builder key) {
            key.option("value", option);
        }

        @Override
        public List<Path> outputs() {
            return List.of(Path.of(id + ".out"));
        }

        @Override
        public JsonNode run(StepContext context) throws IOException {
            runs.merge(id, 1, Integer::sum);
            StringBuilder text = new StringBuilder(option);
            for (String dependency : dependsOn) {
                text.append('+').append(Files.readString(context.resolve(Path.of(dependency + ".out"))));
            }
            if (failBeforeWrite) {
                // the crash happens with the temporary file half written
                AtomicOutput half = AtomicOutput.create(context.resolve(outputs().get(0)), true);
                half.stream().write("half".getBytes(StandardCharsets.UTF_8));
                throw new IllegalStateException("killed while writing " + id);
            }
            AtomicOutput.writeBytes(context.resolve(outputs().get(0)), text.toString().getBytes(StandardCharsets.UTF_8), true);
            if (failAfterWrite) {
                throw new IllegalStateException("killed after writing " + id);
            }
            return JsonNodeFactory.instance.objectNode().put("length", text.length());
        }
    }

    private Map<String, StepRecord> run(List<PipelineStep> steps) {
        return new PipelineRunner(dist, new ContentHashes(), "test", 1, label -> Progress.silent(), events::add,
                false).run(steps);
    }

    private List<PipelineStep> chain(String calibrateOption, String convertOption, String otherOption) {
        return List.of(new WritingStep("calibrate", calibrateOption),
                new WritingStep("convert", convertOption, "calibrate"),
                new WritingStep("evaluate", "eval", "convert"),
                new WritingStep("other", otherOption));
    }

    private List<String> kinds() {
        return events.stream().map(e -> e.stepId() + ":" + e.kind()).toList();
    }

    @Test
    void aSecondRunSkipsEverythingAndTouchesNothing() throws IOException {
        run(chain("c1", "q4", "x"));
        assertEquals(Map.of("calibrate", 1, "convert", 1, "evaluate", 1, "other", 1), runs);
        assertEquals("eval+q4+c1", Files.readString(dist.resolve("evaluate.out")));
        FileTime before = Files.getLastModifiedTime(dist.resolve("convert.out"));
        events.clear();

        Map<String, StepRecord> records = run(chain("c1", "q4", "x"));
        assertEquals(Map.of("calibrate", 1, "convert", 1, "evaluate", 1, "other", 1), runs, () -> "nothing ran again " + events);
        assertEquals(List.of("calibrate:SKIPPED", "convert:SKIPPED", "evaluate:SKIPPED", "other:SKIPPED"), kinds());
        assertEquals(before, Files.getLastModifiedTime(dist.resolve("convert.out")));
        assertEquals(10, records.get("evaluate").result().get("length").asInt(), "results come from the records");
    }

    @Test
    void changingAnOptionRerunsThatStepAndEverythingDownstreamOnly() {
        run(chain("c1", "q4", "x"));
        events.clear();
        run(chain("c1", "q5", "x"));
        assertEquals(List.of("calibrate:SKIPPED", "convert:STARTED", "convert:FINISHED", "evaluate:STARTED",
                "evaluate:FINISHED", "other:SKIPPED"), kinds());
        events.clear();
        run(chain("c2", "q5", "x"));
        assertEquals(Map.of("calibrate", 2, "convert", 3, "evaluate", 3, "other", 1), runs);
    }

    @Test
    void aCrashAfterAnOutputResumesWithoutRedoingFinishedSteps() throws IOException {
        List<PipelineStep> first = chain("c1", "q4", "x");
        ((WritingStep) first.get(2)).failAfterWrite = true;
        assertThrows(IllegalStateException.class, () -> run(first));
        assertEquals(Map.of("calibrate", 1, "convert", 1, "evaluate", 1), runs);

        events.clear();
        run(chain("c1", "q4", "x"));
        assertEquals(Map.of("calibrate", 1, "convert", 1, "evaluate", 2, "other", 1), runs,
                "the unrecorded step runs again, the recorded ones do not");
        assertEquals("evaluate:STARTED", kinds().get(2));
        assertEquals("not done yet", events.get(2).detail());
        assertNoPartials();
    }

    @Test
    void aCrashMidWriteLeavesOnlyATemporaryWhichTheNextRunRemoves() throws IOException {
        List<PipelineStep> first = chain("c1", "q4", "x");
        ((WritingStep) first.get(1)).failBeforeWrite = true;
        assertThrows(IllegalStateException.class, () -> run(first));
        assertFalse(Files.exists(dist.resolve("convert.out")), "the target never exists half-written");
        // AtomicOutput was not closed (a killed process closes nothing): its temporary stays behind
        try (Stream<Path> files = Files.list(dist)) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("convert.out.partial-")));
        }
        run(chain("c1", "q4", "x"));
        assertEquals("eval+q4+c1", Files.readString(dist.resolve("evaluate.out")));
        assertNoPartials();
    }

    @Test
    void aMissingOrEditedOutputIsMadeAgain() throws IOException {
        run(chain("c1", "q4", "x"));
        Files.delete(dist.resolve("other.out"));
        Files.writeString(dist.resolve("convert.out"), "XX+c1"); // same size, new content and time
        Files.setLastModifiedTime(dist.resolve("convert.out"), FileTime.fromMillis(0));
        events.clear();
        run(chain("c1", "q4", "x"));
        assertEquals(Map.of("calibrate", 1, "convert", 2, "evaluate", 1, "other", 2), runs,
                "evaluate's key depends on convert's output hash, which is restored, so evaluate stays valid");
        assertEquals("q4+c1", Files.readString(dist.resolve("convert.out")));
        assertEquals("convert.out changed", events.get(1).detail());
        assertEquals("other.out is missing", events.get(events.size() - 2).detail());
    }

    @Test
    void stepsMustComeAfterWhatTheyDependOn() {
        List<PipelineStep> wrongOrder = List.of(new WritingStep("convert", "q4", "calibrate"),
                new WritingStep("calibrate", "c1"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(wrongOrder));
        assertEquals("step convert depends on calibrate, which does not come before it", e.getMessage());
    }

    @Test
    void temporariesOfLiveProcessesAreLeftAlone() throws IOException {
        long livePid = ProcessHandle.current().parent().orElseThrow().pid();
        Path live = Files.writeString(dist.resolve("a.gguf.partial-" + livePid), "writing");
        // pid 2^22 + 1 is above Linux's pid_max limit, so no process can have it
        Path dead = Files.writeString(dist.resolve("b.gguf.partial-4194305"), "killed");
        Files.createDirectories(dist.resolve("m/w4.partial-4194305"));
        Files.writeString(dist.resolve("m/w4.partial-4194305/model.safetensors"), "killed");
        List<Path> removed = PipelineRunner.removeStalePartials(dist);
        assertEquals(2, removed.size(), removed::toString);
        assertTrue(Files.exists(live));
        assertFalse(Files.exists(dead));
        assertFalse(Files.exists(dist.resolve("m/w4.partial-4194305")));
    }

    @Test
    void resumablePartialFoldersAreLeftForTheirJob() throws IOException {
        Path resumable = Files.createDirectories(dist.resolve("m/w8.partial-4194305"));
        Files.writeString(resumable.resolve(io.falconq.formats.io.AtomicFolder.JOURNAL_FILE), "job key");
        Files.writeString(resumable.resolve("model-00001-of-00002.safetensors"), "committed shard");
        assertEquals(List.of(), PipelineRunner.removeStalePartials(dist));
        assertTrue(Files.exists(resumable.resolve("model-00001-of-00002.safetensors")));
    }

    private void assertNoPartials() throws IOException {
        try (Stream<Path> walk = Files.walk(dist)) {
            List<Path> partials = walk.filter(p -> p.getFileName().toString().contains(".partial-")).toList();
            assertEquals(List.of(), partials);
        }
    }
}
