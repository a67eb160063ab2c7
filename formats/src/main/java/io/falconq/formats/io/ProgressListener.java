package io.falconq.formats.io;

/**
 * How library code reports progress of a long job (tensors converted, windows evaluated) without knowing who
 * listens. The CLI renders it as a progress bar on a terminal and as throttled plain lines elsewhere.
 * Implementations must be cheap and thread-safe; reporting never changes results.
 */
@FunctionalInterface
public interface ProgressListener {
    /** A listener that ignores everything. */
    ProgressListener NONE = (done, total, label) -> {
    };

    /**
     * Step {@code done} of {@code total} has finished.
     *
     * @param done  steps finished so far, 1-based (the last call has {@code done == total})
     * @param total total steps, or -1 when unknown
     * @param label what the step was, e.g. {@code "blk.3.ssm_in.weight  Q4_K  12.3 MiB"}
     */
    void onStep(long done, long total, String label);
}
