package io.falconq.core.calib;

import io.falconq.core.parallel.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Accumulates the GPTQ Hessian of one linear input, {@code H = 2/n · Σ x xᵀ} over the n token rows seen
 * (AutoGPTQ {@code GPTQ.add_batch}, which keeps the running mean; we keep the raw sum in double and divide at
 * the end, which is the same number with less rounding). Only the upper triangle is accumulated.
 *
 * <p>{@link #add} is a syrk of the upper triangle: the (i, j) plane is cut into fixed {@value #TASK_ROWS} ×
 * {@value #TASK_COLS} tasks, each entry is a float sum over at most {@value #FLUSH_ROWS} token rows taken in row
 * order and then added to the double total. Which task computes an entry never changes its arithmetic, so the
 * result is the same for any thread count.
 */
public final class HessianAccumulator {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int V = F.length();
    /** Register tile: {@value #TILE_I} rows i × two vectors of columns j (16 accumulators of AVX-512's 32). */
    private static final int TILE_I = 8;
    private static final int TILE_J = 2 * V;
    private static final int TASK_ROWS = 64;
    private static final int TASK_COLS = 256;
    /** Token rows summed in float before the partial sums go into the double total (bounds the float rounding). */
    private static final int FLUSH_ROWS = 128;
    private static final WorkerPool CALLER_ONLY = new WorkerPool(1);

    private final int cols;
    private double[] sum;      // (cols, cols) upper triangle, row-major; null once taken
    private long rows;

    public HessianAccumulator(int cols) {
        this.cols = cols;
        this.sum = new double[Math.multiplyExact(cols, cols)];
    }

    public int columns() {
        return cols;
    }

    public long rows() {
        return rows;
    }

    /** Adds {@code n} rows of {@code cols} values (row-major) on the calling thread. */
    public void add(float[] x, int n, int cols) {
        add(x, n, cols, CALLER_ONLY);
    }

    /** The rows of the last call packed into column panels; reused, since every call of a run has one shape. */
    private float[] packedBuffer;

    /** Adds {@code n} rows of {@code cols} values (row-major), tiles of the upper triangle spread over {@code pool}. */
    public void add(float[] x, int n, int cols, WorkerPool pool) {
        if (cols != this.cols) {
            throw new IllegalArgumentException("Hessian of " + this.cols + " columns cannot take rows of " + cols);
        }
        double[] total = storage();
        int panels = (cols + TILE_J - 1) / TILE_J;
        int packedSize = Math.multiplyExact(panels * TILE_J, n);
        if (packedBuffer == null || packedBuffer.length != packedSize) {
            packedBuffer = new float[packedSize];
        }
        float[] packed = packedBuffer;
        pool.forEach(panels, (p, worker) -> pack(x, n, p, packed));
        int blocks = (cols + TASK_ROWS - 1) / TASK_ROWS;
        int colBlocks = (cols + TASK_COLS - 1) / TASK_COLS;
        // tasks: the (row block, column block) pairs that hold part of the upper triangle, in a fixed order
        int[] taskRow = new int[blocks * colBlocks];
        int[] taskCol = new int[blocks * colBlocks];
        int tasks = 0;
        for (int ib = 0; ib < blocks; ib++) {
            for (int jb = ib * TASK_ROWS / TASK_COLS; jb < colBlocks; jb++) {
                taskRow[tasks] = ib;
                taskCol[tasks] = jb;
                tasks++;
            }
        }
        float[][] scratch = new float[pool.threads()][TILE_I * TILE_J];
        pool.forEach(tasks, (t, worker) -> {
            int i0 = taskRow[t] * TASK_ROWS;
            int j0 = taskCol[t] * TASK_COLS;
            addTask(packed, n, i0, Math.min(i0 + TASK_ROWS, cols), j0, Math.min(j0 + TASK_COLS, cols), total,
                    scratch[worker]);
        });
        rows += n;
    }

    /**
     * Column panel p (columns [p·TILE_J, (p+1)·TILE_J), zeros past the last column) with its n rows contiguous,
     * so a tile's loads walk memory in order instead of one cache line per token row ({@code cols} apart, which
     * also aliases in L1 when cols is a multiple of 1024).
     */
    private void pack(float[] x, int n, int p, float[] packed) {
        int c0 = p * TILE_J;
        int width = Math.min(TILE_J, cols - c0);
        for (int r = 0; r < n; r++) {
            System.arraycopy(x, r * cols + c0, packed, (p * n + r) * TILE_J, width);
        }
    }

    private void addTask(float[] packed, int n, int iStart, int iEnd, int jStart, int jEnd, double[] total, float[] acc) {
        for (int i = iStart; i < iEnd; i += TILE_I) {
            int j = jStart;
            while (j + TILE_J <= i) {
                j += TILE_J; // tiles wholly below the diagonal
            }
            for (; j < jEnd; j += TILE_J) {
                for (int r0 = 0; r0 < n; r0 += FLUSH_ROWS) {
                    tileSum(packed, n, r0, Math.min(n, r0 + FLUSH_ROWS), i, j, acc);
                    for (int a = 0; a < Math.min(TILE_I, iEnd - i); a++) {
                        int row = (i + a) * cols;
                        for (int b = Math.max(0, i + a - j); b < Math.min(TILE_J, jEnd - j); b++) {
                            total[row + j + b] += acc[a * TILE_J + b];
                        }
                    }
                }
            }
        }
    }

    /**
     * acc[a][b] = Σ_r x[r, i+a] · x[r, j+b] for r in [r0, r1), in r order (i a multiple of TILE_I, j of TILE_J): the
     * 8 × 2 vectors of sums stay in registers for the whole row range (the 4 × 2 tile that reloaded its sums from
     * {@code acc} every four rows ran at a quarter of this speed; the same fused multiply-adds in the same order,
     * so the same bits).
     */
    private static void tileSum(float[] packed, int n, int r0, int r1, int i, int j, float[] acc) {
        int pi = (i / TILE_J * n) * TILE_J + i % TILE_J;
        int pj = (j / TILE_J * n) * TILE_J;
        FloatVector s00 = FloatVector.zero(F);
        FloatVector s01 = s00;
        FloatVector s10 = s00;
        FloatVector s11 = s00;
        FloatVector s20 = s00;
        FloatVector s21 = s00;
        FloatVector s30 = s00;
        FloatVector s31 = s00;
        FloatVector s40 = s00;
        FloatVector s41 = s00;
        FloatVector s50 = s00;
        FloatVector s51 = s00;
        FloatVector s60 = s00;
        FloatVector s61 = s00;
        FloatVector s70 = s00;
        FloatVector s71 = s00;
        for (int r = r0; r < r1; r++) {
            int xj = pj + r * TILE_J;
            int xi = pi + r * TILE_J;
            FloatVector y0 = FloatVector.fromArray(F, packed, xj);
            FloatVector y1 = FloatVector.fromArray(F, packed, xj + V);
            FloatVector b = FloatVector.broadcast(F, packed[xi]);
            s00 = b.fma(y0, s00);
            s01 = b.fma(y1, s01);
            b = FloatVector.broadcast(F, packed[xi + 1]);
            s10 = b.fma(y0, s10);
            s11 = b.fma(y1, s11);
            b = FloatVector.broadcast(F, packed[xi + 2]);
            s20 = b.fma(y0, s20);
            s21 = b.fma(y1, s21);
            b = FloatVector.broadcast(F, packed[xi + 3]);
            s30 = b.fma(y0, s30);
            s31 = b.fma(y1, s31);
            b = FloatVector.broadcast(F, packed[xi + 4]);
            s40 = b.fma(y0, s40);
            s41 = b.fma(y1, s41);
            b = FloatVector.broadcast(F, packed[xi + 5]);
            s50 = b.fma(y0, s50);
            s51 = b.fma(y1, s51);
            b = FloatVector.broadcast(F, packed[xi + 6]);
            s60 = b.fma(y0, s60);
            s61 = b.fma(y1, s61);
            b = FloatVector.broadcast(F, packed[xi + 7]);
            s70 = b.fma(y0, s70);
            s71 = b.fma(y1, s71);
        }
        s00.intoArray(acc, 0);
        s01.intoArray(acc, V);
        s10.intoArray(acc, TILE_J);
        s11.intoArray(acc, TILE_J + V);
        s20.intoArray(acc, 2 * TILE_J);
        s21.intoArray(acc, 2 * TILE_J + V);
        s30.intoArray(acc, 3 * TILE_J);
        s31.intoArray(acc, 3 * TILE_J + V);
        s40.intoArray(acc, 4 * TILE_J);
        s41.intoArray(acc, 4 * TILE_J + V);
        s50.intoArray(acc, 5 * TILE_J);
        s51.intoArray(acc, 5 * TILE_J + V);
        s60.intoArray(acc, 6 * TILE_J);
        s61.intoArray(acc, 6 * TILE_J + V);
        s70.intoArray(acc, 7 * TILE_J);
        s71.intoArray(acc, 7 * TILE_J + V);
    }

    private double[] storage() {
        if (sum == null) {
            throw new IllegalStateException("Hessian storage was handed over by takeHessian()");
        }
        return sum;
    }

    /**
     * Hands over the storage without copying: a row-major (cols, cols) array whose upper triangle (diagonal
     * included) holds {@code 2/n · XᵀX}, all zeros if nothing was seen; entries below the diagonal are
     * unspecified. The caller owns the array from then on (e.g. {@code GptqQuantizer.prepare} factorises it in
     * place); this accumulator can no longer add or return anything.
     */
    public double[] takeHessian() {
        double[] h = storage();
        sum = null;
        packedBuffer = null;
        double f = rows == 0 ? 0 : 2.0 / rows;
        for (int i = 0; i < cols; i++) {
            for (int j = i; j < cols; j++) {
                h[i * cols + j] *= f;
            }
        }
        return h;
    }

    /** {@code 2/n · XᵀX} as a full symmetric matrix, or all zeros if nothing was seen. */
    public double[][] hessian() {
        double[] s = storage();
        double[][] h = new double[cols][cols];
        double f = rows == 0 ? 0 : 2.0 / rows;
        for (int i = 0; i < cols; i++) {
            for (int j = i; j < cols; j++) {
                double v = s[i * cols + j] * f;
                h[i][j] = v;
                h[j][i] = v;
            }
        }
        return h;
    }

    /** Mean of x² per column (the diagonal of XᵀX / n). */
    public double[] meanSquares() {
        double[] s = storage();
        double[] d = new double[cols];
        for (int i = 0; i < cols; i++) {
            d[i] = rows == 0 ? 0 : s[i * cols + i] / rows;
        }
        return d;
    }

}
