package io.falconq.cli.progress;

import java.io.PrintWriter;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Progress as plain lines, for logs: {@code [ 12/345] blk.3.ssm_in.weight  Q4_K  12.3 MiB}. Throttled so a CI
 * log stays short: the first and the last step are always printed, others at most once per interval; a step
 * skipped by the throttle is never printed later except as the final one.
 */
public final class PlainProgress implements Progress {
    /** Two seconds between lines keeps a 10-minute conversion under ~300 lines. */
    public static final long DEFAULT_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final PrintWriter out;
    private final String task;
    private final long intervalNanos;
    private final LongSupplier clock;
    private long lastPrintNanos;
    private boolean printedAny;
    private String pendingLine;

    PlainProgress(PrintWriter out, String task, long intervalNanos, LongSupplier clock) {
        this.out = out;
        this.task = task;
        this.intervalNanos = intervalNanos;
        this.clock = clock;
    }

    public static PlainProgress throttled(PrintWriter out, String task) {
        return new PlainProgress(out, task, DEFAULT_INTERVAL_NANOS, System::nanoTime);
    }

    public static PlainProgress everyStep(PrintWriter out, String task) {
        return new PlainProgress(out, task, 0, System::nanoTime);
    }

    /** For tests: a throttle driven by {@code clock} (nanoseconds). */
    public static PlainProgress withClock(PrintWriter out, String task, long intervalNanos, LongSupplier clock) {
        return new PlainProgress(out, task, intervalNanos, clock);
    }

    @Override
    public synchronized void onStep(long done, long total, String label) {
        String line = format(done, total, label);
        long now = clock.getAsLong();
        boolean last = total > 0 && done >= total;
        if (!printedAny || last || now - lastPrintNanos >= intervalNanos) {
            print(line, now);
        } else {
            pendingLine = line;
        }
    }

    @Override
    public synchronized void close() {
        if (pendingLine != null) {
            print(pendingLine, clock.getAsLong());
        }
        out.flush();
    }

    private void print(String line, long now) {
        if (!printedAny && task != null && !task.isEmpty()) {
            out.println(task + ":");
        }
        out.println(line);
        out.flush();
        printedAny = true;
        lastPrintNanos = now;
        pendingLine = null;
    }

    /** {@code [ 12/345] label}, the counter padded to the width of the total. */
    static String format(long done, long total, String label) {
        String counter = total > 0
                ? String.format("[%" + Long.toString(total).length() + "d/%d]", done, total)
                : "[" + done + "]";
        return label == null || label.isEmpty() ? counter : counter + " " + label;
    }
}
