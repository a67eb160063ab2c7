package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.io.AtomicFolder;
import io.falconq.formats.io.FalconqException;
import io.falconq.formats.io.OutputException;
import io.falconq.cli.progress.Progress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs steps in order, skipping each step whose record in {@link StepStore} has the same {@link StepKey} and whose
 * outputs are still there, unchanged. Because every output is written atomically and the record only after the
 * outputs, killing the process at any moment leaves either a complete, recorded output, a complete output without
 * record (re-made next time), or a temporary {@code *.partial-<pid>} file, which the next run deletes.
 */
public final class PipelineRunner {
    private static final Pattern PARTIAL = Pattern.compile(".*\\.partial-(\\d+)(-old)?$");

    private final Path dist;
    private final StepStore store;
    private final ContentHashes hashes;
    private final String toolVersion;
    private final int threads;
    private final Function<String, Progress> progress;
    private final PipelineEvent.Listener listener;
    private final boolean rebuild;

    /**
     * @param toolVersion falconq's version, in every step's key: an upgrade remakes everything (development builds
     *                    say "dev")
     * @param progress    opens the progress rendering of one step (given its label); closed when the step ends
     * @param rebuild     run every step even when its record matches (the records are then rewritten)
     */
    public PipelineRunner(Path dist, ContentHashes hashes, String toolVersion, int threads,
                          Function<String, Progress> progress, PipelineEvent.Listener listener, boolean rebuild) {
        this.dist = dist;
        this.toolVersion = Objects.requireNonNull(toolVersion, "toolVersion");
        this.store = new StepStore(dist);
        this.hashes = hashes;
        this.threads = threads;
        this.progress = progress;
        this.listener = listener;
        this.rebuild = rebuild;
    }

    private int skipped;

    /** Steps the last {@link #run} skipped because their records still held. */
    public int skippedCount() {
        return skipped;
    }

    /** Runs (or skips) every step; returns every step's record by id, in step order. */
    public Map<String, StepRecord> run(List<PipelineStep> steps) {
        checkOrder(steps);
        removeStalePartials(dist);
        skipped = 0;
        Map<String, StepRecord> records = new LinkedHashMap<>();
        for (int i = 0; i < steps.size(); i++) {
            PipelineStep step = steps.get(i);
            StepKey.Builder keyBuilder = new StepKey.Builder(hashes);
            keyBuilder.option("falconq", toolVersion);
            step.describeInputs(keyBuilder);
            Map<String, StepRecord> upstream = new LinkedHashMap<>();
            for (String dependency : step.dependsOn()) {
                StepRecord record = records.get(dependency);
                keyBuilder.upstream(record);
                upstream.put(dependency, record);
            }
            String key = keyBuilder.build(step.id());
            Optional<StepRecord> previous = rebuild ? Optional.empty() : store.read(step.id());
            String reason = previous.isEmpty() ? (rebuild ? "--rebuild" : "not done yet")
                    : whyStale(step, previous.get(), key);
            if (reason == null) {
                skipped++;
                records.put(step.id(), previous.get());
                listener.on(new PipelineEvent(i + 1, steps.size(), step.id(), step.label(),
                        PipelineEvent.Kind.SKIPPED, "unchanged, key " + key.substring(0, 12), 0));
                continue;
            }
            listener.on(new PipelineEvent(i + 1, steps.size(), step.id(), step.label(), PipelineEvent.Kind.STARTED,
                    reason, 0));
            store.delete(step.id());
            for (Path output : step.outputs()) {
                createParent(dist.resolve(output));
            }
            long start = System.nanoTime();
            long cpuStart = processCpuNanos();
            boolean measuresMemory = PeakMemory.reset();
            JsonNode result;
            try (Progress rendering = progress.apply(step.label())) {
                result = step.run(new StepContext(dist, Map.copyOf(upstream), threads, rendering));
            } catch (FalconqException | IllegalStateException | IllegalArgumentException e) {
                throw e;
            } catch (Exception e) {
                throw new OutputException(step.label() + ": " + e.getMessage(), e);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double cpuSeconds = (processCpuNanos() - cpuStart) / 1e9;
            long peakRss = measuresMemory ? PeakMemory.peakBytes() : 0;
            List<StepRecord.OutputHash> outputs = new ArrayList<>();
            for (Path output : step.outputs()) {
                Path file = dist.resolve(output);
                if (!Files.exists(file)) {
                    throw new IllegalStateException(step.label() + ": finished without writing " + file);
                }
                outputs.add(new StepRecord.OutputHash(ContentHashes.relative(dist, file), ContentHashes.size(file),
                        ContentHashes.lastModified(file), hashes.hash(file)));
            }
            StepRecord record = new StepRecord(step.id(), key, outputs, result, seconds, cpuSeconds, peakRss);
            store.write(record);
            records.put(step.id(), record);
            listener.on(new PipelineEvent(i + 1, steps.size(), step.id(), step.label(), PipelineEvent.Kind.FINISHED,
                    "", seconds));
        }
        return records;
    }

    /** CPU time of this JVM so far (all threads), or 0 where the platform does not report it. */
    private static long processCpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return Math.max(0, os.getProcessCpuTime());
        }
        return 0;
    }

    /** Null when the record still holds; otherwise why the step must run again. */
    private String whyStale(PipelineStep step, StepRecord record, String key) {
        if (!record.key().equals(key)) {
            return "inputs or options changed";
        }
        if (record.outputs().size() != step.outputs().size()) {
            return "outputs changed";
        }
        for (StepRecord.OutputHash output : record.outputs()) {
            Path file = dist.resolve(output.path());
            if (!Files.exists(file)) {
                return output.path() + " is missing";
            }
            if (ContentHashes.size(file) != output.size()) {
                return output.path() + " changed size";
            }
            // an unchanged size and time is trusted; otherwise the content decides
            if (ContentHashes.lastModified(file) != output.lastModified() && !hashes.hash(file).equals(output.sha256())) {
                return output.path() + " changed";
            }
        }
        return null;
    }

    private static void checkOrder(List<PipelineStep> steps) {
        Set<String> seen = new HashSet<>();
        for (PipelineStep step : steps) {
            for (String dependency : step.dependsOn()) {
                if (!seen.contains(dependency)) {
                    throw new IllegalArgumentException("step " + step.id() + " depends on " + dependency
                            + ", which does not come before it");
                }
            }
            if (!seen.add(step.id())) {
                throw new IllegalArgumentException("step id " + step.id() + " appears twice");
            }
        }
    }

    private static void createParent(Path output) {
        try {
            Files.createDirectories(output.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new OutputException(output.getParent() + ": cannot create folder: " + e.getMessage(), e);
        }
    }

    /**
     * Deletes {@code *.partial-<pid>} files and folders under dist left by a process that no longer runs (killed
     * mid-write). Those of live processes are left alone: another pipeline may be writing them.
     */
    static List<Path> removeStalePartials(Path dist) {
        List<Path> removed = new ArrayList<>();
        if (!Files.isDirectory(dist)) {
            return removed;
        }
        List<Path> candidates;
        try (Stream<Path> walk = Files.walk(dist)) {
            candidates = walk.filter(p -> PARTIAL.matcher(p.getFileName().toString()).matches()).toList();
        } catch (IOException e) {
            throw new OutputException(dist + ": cannot list: " + e.getMessage(), e);
        }
        for (Path partial : candidates) {
            Matcher m = PARTIAL.matcher(partial.getFileName().toString());
            if (!m.matches()) {
                continue;
            }
            long pid = Long.parseLong(m.group(1));
            if (pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                continue;
            }
            if (Files.isRegularFile(partial.resolve(AtomicFolder.JOURNAL_FILE), LinkOption.NOFOLLOW_LINKS)) {
                continue; // a resumable job's folder: AtomicFolder.resume adopts or deletes it
            }
            AtomicFolder.deleteRecursively(partial);
            removed.add(partial);
        }
        return removed;
    }
}
