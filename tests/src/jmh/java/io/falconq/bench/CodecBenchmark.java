package io.falconq.bench;

import io.falconq.core.quant.BlockCodec;
import io.falconq.core.quant.QuantType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * One row of {@code n} values through a block codec: {@link BlockCodec#quantizeRow} (the llama-quantize reference
 * path, no importance matrix), {@link BlockCodec#dot} against float activations and {@link BlockCodec#decodeRow}
 * (both the Vector API paths, as the runtime calls them). The row and its activations stay in L1, so this is the
 * kernels' arithmetic, not memory bandwidth. ns per row; divide by n for ns per weight.
 */
@State(Scope.Thread)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CodecBenchmark extends BenchmarkDefaults {
    @Param({"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    public String type;

    /** Row length: the 0.5B model's hidden size. */
    @Param("1024")
    public int n;

    private BlockCodec codec;
    private float[] values;
    private float[] activations;
    private float[] decoded;
    private MemorySegment row;
    private MemorySegment scratch;

    @Setup
    public void setUp() {
        codec = QuantType.valueOf(type).codec();
        values = SeededInputs.gaussian(n, 1);
        activations = SeededInputs.gaussian(n, 2);
        decoded = new float[n];
        row = SeededInputs.quantizedRows(codec, 1, n, 1);
        scratch = SeededInputs.quantizedRows(codec, 1, n, 1);
    }

    @Benchmark
    public MemorySegment quantizeRow() {
        codec.quantizeRow(values, 0, n, null, scratch, 0);
        return scratch;
    }

    @Benchmark
    public float dot() {
        return codec.dot(row, 0, activations, 0, n);
    }

    @Benchmark
    public float[] decodeRow() {
        codec.decodeRow(row, 0, decoded, 0, n);
        return decoded;
    }
}
