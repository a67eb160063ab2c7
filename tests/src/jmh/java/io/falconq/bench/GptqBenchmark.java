package io.falconq.bench;

import io.falconq.core.calib.HessianAccumulator;
import io.falconq.core.intquant.GptqQuantizer;
import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.core.parallel.WorkerPool;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * GPTQ of one weight, 4 bits, group 128, in its two phases: {@code prepare} (damping, the in-place blocked Cholesky
 * of the Hessian and its triangular inverse: {@code InPlaceCholesky} over {@code PanelProduct} tiles) and
 * {@code quantize} (the lazy-batch column sweeps over the weight). Shapes out × in: 1024 × 2048 and 2048 × 1024,
 * with 1 and 2 threads. The Hessian is accumulated once per trial from 2·in/512 + 1 calls of 512 seeded gaussian
 * rows; prepare consumes its input, so each call gets a fresh copy (untimed). ms per call; quantize's multiply-adds
 * are out · in² (2^31 for both shapes).
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class GptqBenchmark extends BenchmarkDefaults {
    private static final IntQuantScheme SCHEME = IntQuantScheme.w4(128);

    @Param({"1024x2048", "2048x1024"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private int out;
    private int in;
    private WorkerPool pool;
    private double[] hessian;
    private double[] hessianCopy;
    private GptqQuantizer.Prepared prepared;
    private float[] weight;

    @Setup
    public void setUp() {
        String[] dims = shape.split("x");
        out = Integer.parseInt(dims[0]);
        in = Integer.parseInt(dims[1]);
        pool = new WorkerPool(threads);
        HessianAccumulator accumulator = new HessianAccumulator(in);
        for (int call = 0; call < 2 * in / 512 + 1; call++) {
            accumulator.add(SeededInputs.gaussian(512 * in, 10 + call), 512, in, pool);
        }
        hessian = accumulator.takeHessian();
        hessianCopy = new double[hessian.length];
        prepared = GptqQuantizer.prepare("w", hessian.clone(), in, SCHEME, GptqQuantizer.DEFAULT_DAMP_PERCENT, pool);
        weight = SeededInputs.gaussian(out * in, 3);
    }

    @Setup(Level.Invocation)
    public void freshHessian() {
        System.arraycopy(hessian, 0, hessianCopy, 0, hessian.length);
    }

    @TearDown
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public GptqQuantizer.Prepared prepare() {
        return GptqQuantizer.prepare("w", hessianCopy, in, SCHEME, GptqQuantizer.DEFAULT_DAMP_PERCENT, pool);
    }

    @Benchmark
    public GptqQuantizer.Result quantize() {
        return GptqQuantizer.quantize("w", weight, out, in, prepared, SCHEME, pool);
    }
}
