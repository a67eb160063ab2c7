package io.falconq.bench;

import io.falconq.core.calib.HessianAccumulator;
import io.falconq.core.parallel.WorkerPool;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * GPTQ's Hessian accumulation, {@link HessianAccumulator#add} of 512 activation rows at 1024 and 2048 columns, with
 * 1 and 2 threads. µs per call; multiply-adds per call (upper triangle) = 512 · cols · (cols + 1) / 2, so ns per
 * multiply-add = µs · 1000 / that (1024 columns: 268.7M; 2048: 1074.3M).
 */
@State(Scope.Benchmark)
public class HessianBenchmark extends BenchmarkDefaults {
    private static final int ROWS = 512;

    @Param({"1024", "2048"})
    public int cols;

    @Param({"1", "2"})
    public int threads;

    private WorkerPool pool;
    private HessianAccumulator accumulator;
    private float[] x;

    @Setup
    public void setUp() {
        pool = new WorkerPool(threads);
        accumulator = new HessianAccumulator(cols);
        x = SeededInputs.gaussian(ROWS * cols, 1);
    }

    @TearDown
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public HessianAccumulator add() {
        accumulator.add(x, ROWS, cols, pool);
        return accumulator;
    }
}
