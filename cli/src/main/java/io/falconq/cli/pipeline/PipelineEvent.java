package io.falconq.cli.pipeline;

/**
 * What the runner did with a step, in order. The pipeline command prints these; tests use them to check that a
 * resumed run skipped what was already done.
 *
 * @param index   1-based position of the step
 * @param total   number of steps
 * @param stepId  {@link PipelineStep#id()}
 * @param label   {@link PipelineStep#label()}
 * @param kind    what happened
 * @param detail  the reason for a run, or the key prefix for a skip
 * @param seconds wall time of a run (0 for the other kinds)
 */
public record PipelineEvent(int index, int total, String stepId, String label, Kind kind, String detail,
                            double seconds) {
    public enum Kind {
        /** Record and outputs match the key: nothing to do. */
        SKIPPED,
        /** About to run. */
        STARTED,
        /** Ran and recorded. */
        FINISHED
    }

    /** A plain log line, e.g. {@code [ 3/20] skip  falcon-h1-tiny Q4_K_M: convert to GGUF (unchanged, key 1a2b3c4d)}. */
    public String line() {
        String width = String.valueOf(total);
        String position = String.format("[%" + width.length() + "d/%s]", index, width);
        return switch (kind) {
            case SKIPPED -> position + " skip  " + label + " (" + detail + ")";
            case STARTED -> position + " run   " + label + " (" + detail + ")";
            case FINISHED -> position + " done  " + label + String.format(java.util.Locale.ROOT, " in %.1f s", seconds);
        };
    }

    @FunctionalInterface
    public interface Listener {
        Listener NONE = event -> {
        };

        void on(PipelineEvent event);
    }
}
