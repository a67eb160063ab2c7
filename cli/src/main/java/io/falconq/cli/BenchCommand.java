package io.falconq.cli;

import io.falconq.cli.options.ActivationsOption;
import io.falconq.cli.options.CountLimits;
import io.falconq.cli.options.ThreadsOption;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.runtime.kernel.KernelMode;
import io.falconq.runtime.kernel.QuantMatMul;
import io.falconq.runtime.kernel.QuantizedWeightMatrix;
import io.falconq.core.parallel.WorkerPool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * {@code falconq bench}: the linear-layer kernels on a GGUF's own weights, one measurement per distinct
 * (type, rows, columns), so the cost of a forward window can be split by tensor shape and block type.
 */
@Command(name = "bench",
        description = {"Time the runtime's matrix kernels on the linear weights of a GGUF file, read in place in their "
                + "block encoding: for each distinct type and shape, the window product Y = X·Wᵀ over --tokens rows "
                + "of seeded random activations (median of --repeat runs, after two warm-up passes over every shape), in GMAC/s, and the block "
                + "decode alone. The last line sums the products the model runs per window of --tokens tokens "
                + "(every 2-D weight but the token embedding, once each), which bounds what `falconq eval` can reach."})
public final class BenchCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF file.")
    private Path model;

    @Option(names = "--tokens", paramLabel = "T", defaultValue = "512",
            description = "Activation rows per product (default ${DEFAULT-VALUE}, llama-perplexity's -b).")
    private int tokens;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "3", description = "Timed runs per shape (default ${DEFAULT-VALUE}).")
    private int repeat;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private ActivationsOption activations;

    private record Shape(GgmlType type, int rows, int cols) {
    }

    @Override
    public Integer call() {
        CountLimits.tokens(spec, "--tokens", tokens, 1);
        CountLimits.inRange(spec, "--repeat", repeat, 1, CountLimits.MAX_COUNT);
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile gguf = GgufReader.open(model); WorkerPool pool = new WorkerPool(threads.threads())) {
            boolean tied = !gguf.contains("output.weight");
            Map<Shape, List<String>> shapes = new LinkedHashMap<>();
            for (GgufTensorInfo info : gguf.tensorInfos()) {
                boolean linear = info.ne().length == 2 && info.type() != GgmlType.F32
                        && (!info.name().equals("token_embd.weight") || tied);
                if (linear) {
                    shapes.computeIfAbsent(new Shape(info.type(), Math.toIntExact(info.ne()[1]),
                            Math.toIntExact(info.ne()[0])), k -> new ArrayList<>()).add(info.name());
                }
            }
            if (shapes.isEmpty()) {
                throw new InvalidInputException(model + ": no 2-D non-F32 weights to time");
            }
            long widest = shapes.keySet().stream().mapToLong(s -> (long) s.rows() + s.cols()).max().orElse(0);
            CountLimits.fitsInMemory(spec, "--tokens", tokens, 4 * widest); // activations in, products out
            out.printf(Locale.ROOT, "bench: %s, %d tokens, %d threads, kernels %s, activations %s%n", model, tokens,
                    threads.threads(), KernelMode.describe(), activations.mode().label());
            out.printf(Locale.ROOT, "%-7s %7s %7s %6s %10s %9s %12s %10s%n", "type", "rows", "cols", "count",
                    "ms/product", "GMAC/s", "decode Gv/s", "ms/window");
            QuantMatMul mm = new QuantMatMul(pool, activations.mode());
            // warm-up: every kernel and decoder compiled before anything is timed
            for (int pass = 0; pass < 2; pass++) {
                for (Map.Entry<Shape, List<String>> e : shapes.entrySet()) {
                    QuantizedWeightMatrix w = QuantizedWeightMatrix.of(gguf.view(e.getValue().getFirst()));
                    mm.multiply(new float[tokens * w.cols()], tokens, w, new float[tokens * w.rows()]);
                    float[] row = new float[w.cols()];
                    for (int o = 0; o < w.rows(); o++) {
                        w.decodeRow(o, row, 0);
                    }
                }
            }
            double windowMs = 0;
            double windowMacs = 0;
            for (Map.Entry<Shape, List<String>> e : shapes.entrySet()) {
                Shape s = e.getKey();
                QuantizedWeightMatrix w = QuantizedWeightMatrix.of(gguf.view(e.getValue().getFirst()));
                float[] x = new float[Math.multiplyExact(tokens, s.cols())];
                Random r = new Random(42);
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                float[] y = new float[Math.multiplyExact(tokens, s.rows())];
                double[] productNs = new double[repeat];
                for (int i = 0; i < repeat; i++) {
                    long t0 = System.nanoTime();
                    mm.multiply(x, tokens, w, y);
                    productNs[i] = System.nanoTime() - t0;
                }
                double[] decodeNs = new double[repeat];
                float[] row = new float[s.cols()];
                for (int i = 0; i <= repeat; i++) {
                    long t0 = System.nanoTime();
                    for (int o = 0; o < s.rows(); o++) {
                        w.decodeRow(o, row, 0);
                    }
                    if (i > 0) {
                        decodeNs[i - 1] = System.nanoTime() - t0;
                    }
                }
                double ms = median(productNs) / 1e6;
                double macs = (double) tokens * s.rows() * s.cols();
                int count = e.getValue().size();
                windowMs += count * ms;
                windowMacs += count * macs;
                out.printf(Locale.ROOT, "%-7s %7d %7d %6d %10.2f %9.1f %12.2f %10.1f%n", s.type(), s.rows(), s.cols(),
                        count, ms, macs / (ms * 1e6), (double) s.rows() * s.cols() / median(decodeNs), count * ms);
            }
            out.printf(Locale.ROOT, "all linear layers of one %d-token window: %.1f ms, %.1f GMAC/s, %.0f tokens/s if "
                    + "nothing else ran%n", tokens, windowMs, windowMacs / (windowMs * 1e6), tokens / (windowMs / 1e3));
            out.flush();
        }
        return ExitCodes.OK;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
