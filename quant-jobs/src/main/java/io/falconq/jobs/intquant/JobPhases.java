package io.falconq.jobs.intquant;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * Where an int-quant job's wall time goes, by phase: each moment of the job's thread is charged to exactly one
 * phase (the innermost one entered), so the phases add up to the wall time. The worker threads only run inside a
 * parallel loop that the job's thread waits for, so their time is the wall time of the phase that started the loop.
 *
 * <p>Used by one thread (the job's). The split is printed per layer in the progress labels and for the whole job in
 * {@link IntQuantJob.Report}, so a user sees what a size costs, and {@link IntQuantCost}'s rates come from it. The
 * whole job's split also gives each phase's CPU time (the process's, all threads), which a loaded machine inflates
 * less than the wall time.
 */
final class JobPhases {
    enum Phase {
        /** the runtime's forward pass over the layer's parts (norms, linears, scan, attention). */
        FORWARD("forward"),
        /** statistics of the linear inputs: the Hessian syrk, importance. */
        STATISTICS("statistics"),
        /** the method's own work: weight decode, GPTQ factorisation and sweeps, RTN/clip, AWQ search. */
        SOLVE("solve"),
        /** reading and writing the activation files, and syncing them. */
        SPILL_IO("spill io"),
        /** packing the quantized linears, staging a layer, assembling the shards and configs. */
        WRITE("write"),
        /** the full collection after each layer. */
        GC("gc"),
        /** everything else: loading, embedding, page release. */
        OTHER("other");

        private final String label;

        Phase(String label) {
            this.label = label;
        }
    }

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private final long[] nanos = new long[Phase.values().length];
    private final long[] cpuNanos = new long[Phase.values().length];
    private Phase current = Phase.OTHER;
    private long since = System.nanoTime();
    private long cpuSince = OS.getProcessCpuTime();

    /** A phase entered by {@link #enter}; closing it returns to the phase it interrupted. */
    final class Scope implements AutoCloseable {
        private final Phase outer;

        private Scope(Phase outer) {
            this.outer = outer;
        }

        @Override
        public void close() {
            switchTo(outer);
        }
    }

    /** Charges the time from now on to {@code phase} until the returned scope is closed. */
    Scope enter(Phase phase) {
        Phase outer = current;
        switchTo(phase);
        return new Scope(outer);
    }

    private void switchTo(Phase phase) {
        long now = System.nanoTime();
        long cpu = OS.getProcessCpuTime();
        nanos[current.ordinal()] += now - since;
        cpuNanos[current.ordinal()] += cpu - cpuSince;
        since = now;
        cpuSince = cpu;
        current = phase;
    }

    /** Seconds charged to {@code phase} so far (the current phase up to now). */
    double seconds(Phase phase) {
        long extra = phase == current ? System.nanoTime() - since : 0;
        return (nanos[phase.ordinal()] + extra) / 1e9;
    }

    /** A copy of the totals so far, for the split of one layer ({@link #since}). */
    JobPhases snapshot() {
        JobPhases s = new JobPhases();
        for (Phase p : Phase.values()) {
            s.nanos[p.ordinal()] = Math.round(seconds(p) * 1e9);
        }
        return s;
    }

    /** The split since {@code earlier} (a {@link #snapshot}), e.g. {@code "forward 3.1 s, statistics 1.0 s, …"}. */
    String since(JobPhases earlier) {
        return split(earlier, false);
    }

    /**
     * The whole split, each phase with its CPU time ({@code "solve 38.1 s (70.2 CPU-s)"}), and the JVM's own
     * collection time (every pause, inside whichever phase it hit).
     */
    String summary() {
        switchTo(current); // charges the CPU time of the open phase
        return split(new JobPhases(), true) + String.format(Locale.ROOT, " (JVM collections in all: %.1f s)",
                collectionSeconds());
    }

    private String split(JobPhases earlier, boolean cpu) {
        StringBuilder b = new StringBuilder();
        for (Phase p : Phase.values()) {
            double s = seconds(p) - earlier.nanos[p.ordinal()] / 1e9;
            if (s >= 0.05) {
                b.append(b.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%s %.1f s", p.label, s));
                if (cpu) {
                    b.append(String.format(Locale.ROOT, " (%.1f CPU-s)", cpuNanos[p.ordinal()] / 1e9));
                }
            }
        }
        return b.toString();
    }

    private static double collectionSeconds() {
        long ms = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ms += Math.max(0, gc.getCollectionTime());
        }
        return ms / 1e3;
    }
}
