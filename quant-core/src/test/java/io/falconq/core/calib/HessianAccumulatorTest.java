package io.falconq.core.calib;

import org.junit.jupiter.api.Test;

import io.falconq.core.parallel.WorkerPool;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class HessianAccumulatorTest {
    @Test
    void matchesNaiveDoubleSum() {
        int cols = 37; // odd, not a vector multiple: exercises the tails
        Random rnd = new Random(3);
        HessianAccumulator acc = new HessianAccumulator(cols);
        double[][] ref = new double[cols][cols];
        int total = 0;
        for (int call = 0; call < 3; call++) {
            int rows = 19 + call * 7;
            float[] x = new float[rows * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            acc.add(x, rows, cols);
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < cols; i++) {
                    for (int j = 0; j < cols; j++) {
                        ref[i][j] += (double) x[r * cols + i] * x[r * cols + j];
                    }
                }
            }
            total += rows;
        }
        double[][] h = acc.hessian();
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) {
                double expected = 2.0 / total * ref[i][j];
                // per-call float dot products of ≤ 33 terms of O(1): relative error ~1e-6
                assertEquals(expected, h[i][j], 1e-5 * (1 + Math.abs(expected)), i + "," + j);
            }
        }
        assertEquals(total, acc.rows());
    }

    @Test
    void tiledSyrkIsTheSameForAnyThreadCountAndMatchesTheNaiveSum() {
        // several tasks (64 × 256 tiles), register-tile tails in both directions, and calls longer than the
        // 128-row float flush
        int cols = 301;
        Random rnd = new Random(5);
        float[][] calls = {new float[300 * cols], new float[13 * cols]};
        for (float[] x : calls) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
        }
        HessianAccumulator one = new HessianAccumulator(cols);
        HessianAccumulator two = new HessianAccumulator(cols);
        try (WorkerPool pool = new WorkerPool(2)) {
            for (float[] x : calls) {
                one.add(x, x.length / cols, cols);
                two.add(x, x.length / cols, cols, pool);
            }
        }
        double[][] h = one.hessian();
        double[] taken = two.takeHessian();
        int total = 313;
        for (int i = 0; i < cols; i++) {
            for (int j = i; j < cols; j++) {
                assertEquals(Double.doubleToLongBits(h[i][j]), Double.doubleToLongBits(taken[i * cols + j]), i + "," + j);
                double ref = 0;
                for (float[] x : calls) {
                    for (int r = 0; r < x.length / cols; r++) {
                        ref += (double) x[r * cols + i] * x[r * cols + j];
                    }
                }
                double expected = 2.0 / total * ref;
                // float partial sums of ≤ 128 products of N(0,1) values: rounding ~ 128 · 6e-8 · √128 ≈ 1e-4 of
                // a product in the worst case, well under 1e-3 absolute after the 2/313 scaling of O(300) sums
                assertEquals(expected, taken[i * cols + j], 1e-3, i + "," + j);
            }
        }
        assertThrows(IllegalStateException.class, () -> two.add(calls[1], 13, cols));
        assertThrows(IllegalStateException.class, two::hessian);
    }
}
