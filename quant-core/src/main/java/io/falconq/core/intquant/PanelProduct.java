package io.falconq.core.intquant;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register tile shared by GPTQ's trailing update and the triangular inverse: four rows of
 * {@link #WIDTH} doubles each receive Σ_k coef[p, k] · panel[k, :], one fused multiply-add per term in increasing
 * k. The panel is a packed copy (k rows of {@link #WIDTH} contiguous doubles) because its source rows lie a whole
 * matrix row apart, and at in = 1024 or 2048 those strides map every row onto the same few L1/L2 sets.
 */
final class PanelProduct {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int V = D.length();
    /** Columns of a panel and of the tile: two vectors. */
    static final int WIDTH = 2 * V;
    /** Rows of the tile. */
    static final int ROWS = 4;

    private PanelProduct() {
    }

    /** panel[k, 0:width) = src[off + k·stride + 0:width) for k &lt; count (width ≤ WIDTH). */
    static void pack(double[] src, int off, int stride, int count, int width, double[] panel) {
        for (int k = 0; k < count; k++) {
            System.arraycopy(src, off + k * stride, panel, k * WIDTH, width);
        }
    }

    /**
     * c[cOff + p·cStride + l] += Σ_{k &lt; count} coef[coefOff + p·coefStride + k] · panel[k·WIDTH + l] for
     * p &lt; {@link #ROWS}, l &lt; {@link #WIDTH}: the tile's eight vectors stay in registers for all {@code count}
     * terms (the same fused multiply-adds in the same order as reloading them from {@code c} every four terms, so
     * the same bits, without a store and reload per four terms).
     */
    static void addTile(double[] c, int cOff, int cStride, double[] coef, int coefOff, int coefStride, double[] panel,
                        int count) {
        int c0 = cOff;
        int c1 = c0 + cStride;
        int c2 = c1 + cStride;
        int c3 = c2 + cStride;
        int e0 = coefOff;
        int e1 = e0 + coefStride;
        int e2 = e1 + coefStride;
        int e3 = e2 + coefStride;
        DoubleVector a0 = DoubleVector.fromArray(D, c, c0);
        DoubleVector b0 = DoubleVector.fromArray(D, c, c0 + V);
        DoubleVector a1 = DoubleVector.fromArray(D, c, c1);
        DoubleVector b1 = DoubleVector.fromArray(D, c, c1 + V);
        DoubleVector a2 = DoubleVector.fromArray(D, c, c2);
        DoubleVector b2 = DoubleVector.fromArray(D, c, c2 + V);
        DoubleVector a3 = DoubleVector.fromArray(D, c, c3);
        DoubleVector b3 = DoubleVector.fromArray(D, c, c3 + V);
        for (int k = 0; k < count; k++) {
            DoubleVector u0 = DoubleVector.fromArray(D, panel, k * WIDTH);
            DoubleVector u1 = DoubleVector.fromArray(D, panel, k * WIDTH + V);
            DoubleVector e = DoubleVector.broadcast(D, coef[e0 + k]);
            a0 = e.fma(u0, a0);
            b0 = e.fma(u1, b0);
            e = DoubleVector.broadcast(D, coef[e1 + k]);
            a1 = e.fma(u0, a1);
            b1 = e.fma(u1, b1);
            e = DoubleVector.broadcast(D, coef[e2 + k]);
            a2 = e.fma(u0, a2);
            b2 = e.fma(u1, b2);
            e = DoubleVector.broadcast(D, coef[e3 + k]);
            a3 = e.fma(u0, a3);
            b3 = e.fma(u1, b3);
        }
        a0.intoArray(c, c0);
        b0.intoArray(c, c0 + V);
        a1.intoArray(c, c1);
        b1.intoArray(c, c1 + V);
        a2.intoArray(c, c2);
        b2.intoArray(c, c2 + V);
        a3.intoArray(c, c3);
        b3.intoArray(c, c3 + V);
    }

    /**
     * The same for one row, terms k in [from, to), columns [0, width): the scalar form with the same fused
     * operations, for tile remainders.
     */
    static void addRow(double[] c, int cOff, double[] coef, int coefOff, double[] panel, int from, int to, int width) {
        for (int k = from; k < to; k++) {
            double e = coef[coefOff + k];
            for (int l = 0; l < width; l++) {
                c[cOff + l] = Math.fma(e, panel[k * WIDTH + l], c[cOff + l]);
            }
        }
    }
}
