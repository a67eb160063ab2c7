package io.falconq.intquant;

import io.falconq.calib.HessianAccumulator;
import io.falconq.parallel.WorkerPool;

import java.util.Arrays;
import java.util.Random;

/**
 * Speed of the GPTQ math (not a test; surefire runs only *Test classes). After
 * {@code mvn -q -B -o test-compile -pl quant-core}:
 * <pre>
 * java --add-modules jdk.incubator.vector -cp quant-core/target/test-classes:quant-core/target/classes:formats/target/classes \
 *     io.falconq.intquant.GptqBenchmark [reps]
 * </pre>
 * Prints the median and minimum over {@code reps} (default 5) timed runs after two warm-up runs, for
 * (a) {@link HessianAccumulator#add} of 512 rows at 1024 and 2048 columns: ns per multiply-add of the upper
 * triangle (512 · cols · (cols + 1) / 2); (b) GPTQ of 2048×1024 and 1024×2048 weights, group 128, 4 bits:
 * prepare and quantize seconds, quantize in ns per out · in² multiply-add; each with 1 and 2 threads.
 */
public final class GptqBenchmark {
    private GptqBenchmark() {
    }

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        for (int threads = 1; threads <= 2; threads++) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                for (int cols : new int[] {1024, 2048}) {
                    hessianAdd(pool, cols, 512, reps);
                }
                for (int[] shape : new int[][] {{2048, 1024}, {1024, 2048}}) {
                    gptq(pool, shape[0], shape[1], reps);
                }
            }
        }
    }

    private static void hessianAdd(WorkerPool pool, int cols, int rows, int reps) {
        float[] x = gaussian(rows * cols, 1);
        HessianAccumulator h = new HessianAccumulator(cols);
        double[] ns = new double[reps];
        double[] cpu = new double[reps];
        for (int rep = -2; rep < reps; rep++) {
            long c0 = processCpuNanos();
            long t0 = System.nanoTime();
            h.add(x, rows, cols, pool);
            if (rep >= 0) {
                ns[rep] = System.nanoTime() - t0;
                cpu[rep] = processCpuNanos() - c0;
            }
        }
        double macs = (double) rows * cols * (cols + 1) / 2;
        Arrays.sort(ns);
        Arrays.sort(cpu);
        System.out.printf("hessian add  threads %d  cols %4d rows %d: median %.2f ms  %.4f ns/MAC  (min %.4f;"
                        + " process CPU median %.4f ns/MAC)%n", pool.threads(), cols, rows, ns[reps / 2] / 1e6,
                ns[reps / 2] / macs, ns[0] / macs, cpu[reps / 2] / macs);
    }

    private static void gptq(WorkerPool pool, int out, int in, int reps) {
        HessianAccumulator acc = new HessianAccumulator(in);
        for (int call = 0; call < 2 * in / 512 + 1; call++) {
            acc.add(gaussian(512 * in, 10 + call), 512, in, pool);
        }
        double[] hessian = acc.takeHessian();
        float[] w = gaussian(out * in, 3);
        IntQuantScheme scheme = IntQuantScheme.w4(128);
        double[] prepS = new double[reps];
        double[] quantS = new double[reps];
        double[] quantCpu = new double[reps];
        double loss = 0;
        for (int rep = -2; rep < reps; rep++) {
            double[] h = hessian.clone(); // prepare consumes its input
            long t0 = System.nanoTime();
            GptqQuantizer.Prepared p = GptqQuantizer.prepare("w", h, in, scheme, 0.01, pool);
            long t1 = System.nanoTime();
            long c1 = processCpuNanos();
            GptqQuantizer.Result r = GptqQuantizer.quantize("w", w, out, in, p, scheme, pool);
            long t2 = System.nanoTime();
            loss = r.loss();
            if (rep >= 0) {
                prepS[rep] = (t1 - t0) / 1e9;
                quantS[rep] = (t2 - t1) / 1e9;
                quantCpu[rep] = (processCpuNanos() - c1) / 1e9;
            }
        }
        Arrays.sort(prepS);
        Arrays.sort(quantS);
        Arrays.sort(quantCpu);
        double macs = (double) out * in * in;
        System.out.printf("gptq  threads %d  %dx%d g128 w4: prepare median %.3f s (min %.3f), quantize median %.3f s"
                        + " (min %.3f) = %.4f ns per out·in² MAC (process CPU %.4f), loss %.6g%n", pool.threads(), out, in,
                prepS[reps / 2], prepS[0], quantS[reps / 2], quantS[0], quantS[reps / 2] * 1e9 / macs,
                quantCpu[reps / 2] * 1e9 / macs, loss);
    }

    /** CPU time of the whole process (all pool threads; the JIT's share is small after the warm-up runs). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }
}
