package io.falconq.runtime;

import io.falconq.core.parallel.WorkerPool;

/**
 * Element-wise work of the forward pass split over token rows: tasks of {@value #ROWS_PER_TASK} rows, a split fixed
 * by the row count and never by the thread count, so results are bit-identical for any number of threads.
 */
final class TokenRows {
    static final int ROWS_PER_TASK = 8;

    @FunctionalInterface
    interface Body {
        void run(int t0, int t1, int worker);
    }

    private TokenRows() {
    }

    /** Runs {@code body} over rows {@code [0, n)} in tasks of {@value #ROWS_PER_TASK} rows on {@code pool}. */
    static void forEach(WorkerPool pool, int n, Body body) {
        int tasks = (n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        pool.forEach(tasks, (task, worker) -> body.run(task * ROWS_PER_TASK, Math.min(n, (task + 1) * ROWS_PER_TASK),
                worker));
    }
}
