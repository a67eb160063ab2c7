package io.falconq.core.parallel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of worker threads that runs "parallel for" loops over a fixed number of tasks.
 *
 * <p>Determinism contract: a loop is cut into tasks by the <em>caller</em>, independently of the thread count, and
 * every task writes its own outputs with a fixed arithmetic order. Which thread runs which task varies, but no
 * result depends on it, so 1 thread and N threads give bit-identical outputs. The {@code worker} index passed to a
 * task only selects per-thread scratch memory.
 *
 * <p>The calling thread takes part as worker 0; the other {@code threads − 1} workers are daemon platform threads
 * that spin briefly and then park between loops (a forward pass issues thousands of short loops, so waking a
 * thread through an executor queue would cost more than many of the loops themselves).
 */
public final class WorkerPool implements AutoCloseable {

    /** One unit of a parallel loop. */
    @FunctionalInterface
    public interface Task {
        void run(int task, int worker);
    }

    private static final int SPIN_BEFORE_PARK = 4_000;

    private final int threads;
    private final Thread[] workers;
    private final Object lock = new Object();
    // Loop state, published through the volatile generation counter.
    private volatile long generation;
    private volatile boolean closed;
    private Task currentTask;
    private int currentCount;
    private final AtomicInteger nextTask = new AtomicInteger();
    private final AtomicInteger pendingWorkers = new AtomicInteger();
    private volatile Throwable failure;
    private volatile Thread caller;

    public WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be ≥ 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int worker = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name("falconq-worker-" + worker).unstarted(() -> workLoop(worker));
            workers[i].start();
        }
    }

    /** Number of threads including the caller: the range of the {@code worker} index. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code task.run(i, worker)} for every i in [0, count) and returns when all are done. Not reentrant: a
     * task must not call {@code forEach} on the same pool.
     */
    public void forEach(int count, Task task) {
        if (count <= 0) {
            return;
        }
        if (threads == 1 || count == 1) {
            for (int i = 0; i < count; i++) {
                task.run(i, 0);
            }
            return;
        }
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("worker pool is closed");
            }
            currentTask = task;
            currentCount = count;
            nextTask.set(0);
            failure = null;
            caller = Thread.currentThread();
            pendingWorkers.set(workers.length);
            generation = generation + 1;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            runTasks(task, count, 0);
            int spins = 0;
            while (pendingWorkers.get() != 0) {
                if (++spins > SPIN_BEFORE_PARK) {
                    LockSupport.parkNanos(this, 50_000);
                } else {
                    Thread.onSpinWait();
                }
            }
            currentTask = null;
            Throwable t = failure;
            if (t != null) {
                if (t instanceof RuntimeException re) {
                    throw re;
                }
                if (t instanceof Error e) {
                    throw e;
                }
                throw new IllegalStateException(t);
            }
        }
    }

    private void runTasks(Task task, int count, int worker) {
        try {
            for (int i = nextTask.getAndIncrement(); i < count; i = nextTask.getAndIncrement()) {
                task.run(i, worker);
            }
        } catch (Throwable t) {
            failure = t;
            nextTask.set(count);
        }
    }

    private void workLoop(int worker) {
        long seen = 0;
        while (true) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins > SPIN_BEFORE_PARK) {
                    LockSupport.park(this);
                } else {
                    Thread.onSpinWait();
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            runTasks(currentTask, currentCount, worker);
            if (pendingWorkers.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
