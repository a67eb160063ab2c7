package io.falconq.calib;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
