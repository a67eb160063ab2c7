package io.falconq.bench;

import io.falconq.core.parallel.WorkerPool;
import io.falconq.core.quant.QuantType;
import io.falconq.runtime.kernel.DenseWeightMatrix;
import io.falconq.runtime.kernel.MatMul;
import io.falconq.runtime.kernel.QuantMatMul;
import io.falconq.runtime.kernel.QuantizedWeightMatrix;
import io.falconq.runtime.kernel.WeightMatrix;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The runtime's linear layer, {@code Y[tokens × rows] = X[tokens × cols] · Wᵀ}, through {@link MatMul#multiply} as
 * the forward pass calls it: F32 weights take MatMul's register-tiled kernel (tokens = 1: its row dots), block
 * types {@link QuantMatMul}. Default shape: the 0.5B model's in_proj, 3352 × 1024 (use {@code -p rows=1024} for a
 * square 1024 × 1024). µs per product; multiply-adds per product = tokens · rows · cols.
 */
@State(Scope.Benchmark)
public class MatMulBenchmark extends BenchmarkDefaults {
    @Param({"F32", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    public String type;

    @Param({"1", "64"})
    public int tokens;

    @Param("3352")
    public int rows;

    @Param("1024")
    public int cols;

    @Param("1")
    public int threads;

    private WorkerPool pool;
    private MatMul matMul;
    private WeightMatrix weight;
    private float[] x;
    private float[] y;

    @Setup
    public void setUp() {
        QuantType quantType = QuantType.valueOf(type);
        weight = quantType == QuantType.F32
                ? DenseWeightMatrix.wrapFloats("w", rows, cols, SeededInputs.gaussian(rows * cols, 3))
                : new QuantizedWeightMatrix("w", quantType, rows, cols,
                        SeededInputs.quantizedRows(quantType.codec(), rows, cols, 3));
        x = SeededInputs.gaussian(tokens * cols, 4);
        y = new float[tokens * rows];
        pool = new WorkerPool(threads);
        matMul = new MatMul(pool);
    }

    @TearDown
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public float[] multiply() {
        matMul.multiply(x, tokens, weight, y);
        return y;
    }
}
