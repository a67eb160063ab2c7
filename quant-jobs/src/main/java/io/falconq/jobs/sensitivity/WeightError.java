package io.falconq.jobs.sensitivity;

import io.falconq.core.parallel.WorkerPool;
import io.falconq.runtime.kernel.WeightMatrix;

/**
 * The importance-weighted squared error of a quantized tensor, {@code Σ_rows Σ_j w_j (x_ij − q_ij)²} with
 * {@code w_j} the imatrix's mean squared activation of input column j (1 without an imatrix): to second order, the
 * error a layer's output sees, which is what the probe mode scales the measured ΔKLD by.
 */
final class WeightError {
    /** Rows per task: fixed, so the sum's order (and its bits) does not depend on the thread count. */
    private static final int ROWS_PER_TASK = 64;

    private WeightError() {
    }

    static double weighted(WeightMatrix reference, WeightMatrix quantized, float[] weights, WorkerPool pool) {
        int rows = reference.rows();
        int cols = reference.cols();
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        double[] partial = new double[tasks];
        pool.forEach(tasks, (task, worker) -> {
            float[] x = new float[cols];
            float[] q = new float[cols];
            double sum = 0;
            for (int r = task * ROWS_PER_TASK; r < Math.min(rows, (task + 1) * ROWS_PER_TASK); r++) {
                reference.decodeRow(r, x, 0);
                quantized.decodeRow(r, q, 0);
                for (int j = 0; j < cols; j++) {
                    double d = x[j] - q[j];
                    sum += (weights == null ? 1 : weights[j]) * d * d;
                }
            }
            partial[task] = sum;
        });
        double total = 0;
        for (double p : partial) {
            total += p;
        }
        return total;
    }
}
