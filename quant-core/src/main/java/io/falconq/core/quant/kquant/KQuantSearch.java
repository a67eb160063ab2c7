package io.falconq.core.quant.kquant;

import io.falconq.core.quant.AbsMax;

import static io.falconq.core.quant.GgmlRounding.nearestInt;

/**
 * The scale searches behind ggml's K-quants and imatrix quantizers, ported from {@code ggml/src/ggml-quants.c}
 * with ggml's variable names (GGUF-NOTES.md §5.3).
 *
 * <p>Bit-exactness with llama-quantize depends on doing the same float32 operations in the same order: every
 * expression keeps the C evaluation order ({@code w*x[i]*l} is {@code (w·x)·l}), ints are converted to float where
 * C converts them, and nothing is promoted to double except {@code sqrtf}, which is exact through double. The
 * level arrays are C {@code int8_t}/{@code uint8_t}; where a C value can wrap on store ({@code make_qp_quants}
 * stores an unclamped-below {@code int} into {@code uint8_t}), the store is {@code (byte)} and the read is
 * {@code & 0xFF}, as C's conversion would do.
 *
 * <p>Arrays are passed with explicit offsets so callers can work in place inside a super-block.
 */
public final class KQuantSearch {
    /** {@code GROUP_MAX_EPS}: below this absolute maximum a group is treated as all zero. */
    public static final float GROUP_MAX_EPS = 1e-15f;

    private KQuantSearch() {
    }

    /**
     * Port of {@code make_qx_quants}: symmetric levels −nmax … nmax−1, stored in {@code L} offset by +nmax.
     * Returns the scale d with x ≈ d·(L − nmax).
     *
     * @param rmseType 0: plain rounding; 1: weights x²; 2: 1; 3: |x|; 4: √|x| (ignored when {@code qw} is given);
     *                 negative: like its absolute value but returns early after the first fit
     * @param qw       per-element weights, or {@code null}
     */
    public static float makeQxQuants(int n, int nmax, float[] x, int xOff, byte[] L, int lOff, int rmseType,
                                     float[] qw, int qwOff) {
        return makeQxQuants(n, nmax, x, xOff, L, lOff, rmseType, qw, qwOff, CandidateLanes.usable());
    }

    /** {@link #makeQxQuants}, with the candidate search on vector lanes or not (same result either way). */
    static float makeQxQuants(int n, int nmax, float[] x, int xOff, byte[] L, int lOff, int rmseType, float[] qw,
                              int qwOff, boolean lanes) {
        float max = AbsMax.firstLargest(x, xOff, n);
        if (Math.abs(max) < GROUP_MAX_EPS) { // all zero
            for (int i = 0; i < n; ++i) {
                L[lOff + i] = 0;
            }
            return 0.f;
        }
        float iscale = -nmax / max;
        if (rmseType == 0) {
            for (int i = 0; i < n; ++i) {
                int l = nearestInt(iscale * x[xOff + i]);
                L[lOff + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, l)));
            }
            return 1 / iscale;
        }
        boolean returnEarly = false;
        if (rmseType < 0) {
            rmseType = -rmseType;
            returnEarly = true;
        }
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; ++i) {
            float xi = x[xOff + i];
            int l = nearestInt(iscale * xi);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            L[lOff + i] = (byte) (l + nmax);
            float w = qw != null ? qw[qwOff + i] : qxWeight(rmseType, xi);
            sumlx += w * xi * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        if (returnEarly) {
            return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
        }
        float best = scale * sumlx;
        return lanes
                ? CandidateLanes.qxSearch(n, nmax, x, xOff, L, lOff, rmseType, qw, qwOff, max, scale, best)
                : qxSearchScalar(n, nmax, x, xOff, L, lOff, rmseType, qw, qwOff, max, scale, best);
    }

    /** The candidate loop of {@code make_qx_quants} as ggml runs it (the reference for {@link CandidateLanes}). */
    static float qxSearchScalar(int n, int nmax, float[] x, int xOff, byte[] L, int lOff, int rmseType, float[] qw,
                                int qwOff, float max, float scale, float best) {
        float iscale;
        float sumlx;
        float suml2;
        for (int is = -9; is <= 9; ++is) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = suml2 = 0;
            for (int i = 0; i < n; ++i) {
                float xi = x[xOff + i];
                int l = nearestInt(iscale * xi);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                float w = qw != null ? qw[qwOff + i] : qxWeight(rmseType, xi);
                sumlx += w * xi * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; ++i) {
                    int l = nearestInt(iscale * x[xOff + i]);
                    L[lOff + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, l)));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    static float qxWeight(int rmseType, float x) {
        return rmseType == 1 ? x * x : rmseType == 2 ? 1 : rmseType == 3 ? Math.abs(x) : (float) Math.sqrt(Math.abs(x));
    }

    /**
     * Port of {@code make_q3_quants}: like {@link #makeQxQuants} with weights x², plus (with {@code doRmse}) up to
     * five rounds of coordinate descent on single levels. {@code L} receives levels offset by +nmax.
     */
    public static float makeQ3Quants(int n, int nmax, float[] x, int xOff, byte[] L, int lOff, boolean doRmse) {
        float max = AbsMax.firstLargest(x, xOff, n);
        if (Math.abs(max) < GROUP_MAX_EPS) { // all zero
            for (int i = 0; i < n; ++i) {
                L[lOff + i] = 0;
            }
            return 0.f;
        }
        float iscale = -nmax / max;
        if (doRmse) {
            float sumlx = 0;
            float suml2 = 0;
            for (int i = 0; i < n; ++i) {
                float xi = x[xOff + i];
                int l = nearestInt(iscale * xi);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                L[lOff + i] = (byte) l;
                float w = xi * xi;
                sumlx += w * xi * l;
                suml2 += w * l * l;
            }
            for (int itry = 0; itry < 5; ++itry) {
                int nChanged = 0;
                for (int i = 0; i < n; ++i) {
                    float xi = x[xOff + i];
                    int li = L[lOff + i];
                    float w = xi * xi;
                    float slx = sumlx - w * xi * li;
                    if (slx > 0) {
                        float sl2 = suml2 - w * li * li;
                        int newL = nearestInt(xi * sl2 / slx);
                        newL = Math.max(-nmax, Math.min(nmax - 1, newL));
                        if (newL != li) {
                            slx += w * xi * newL;
                            sl2 += w * newL * newL;
                            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                                L[lOff + i] = (byte) newL;
                                sumlx = slx;
                                suml2 = sl2;
                                ++nChanged;
                            }
                        }
                    }
                }
                if (nChanged == 0) {
                    break;
                }
            }
            for (int i = 0; i < n; ++i) {
                L[lOff + i] += (byte) nmax;
            }
            return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
        }
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * x[xOff + i]);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            L[lOff + i] = (byte) (l + nmax);
        }
        return 1 / iscale;
    }

    /**
     * Port of {@code make_qkx2_quants}: asymmetric levels 0..nmax with an offset, x ≈ scale·L − theMin, searching
     * {@code nstep + 1} inverse scales around nmax/(max − min) with weighted least squares for (scale, min).
     *
     * @param theMin receives −min (≥ 0) at index {@code theMinIdx}
     * @param Laux   scratch of at least n entries
     */
    public static float makeQkx2Quants(int n, int nmax, float[] x, int xOff, float[] weights, int wOff, byte[] L,
                                       int lOff, float[] theMin, int theMinIdx, byte[] Laux, float rmin,
                                       float rdelta, int nstep, boolean useMad) {
        return makeQkx2Quants(n, nmax, x, xOff, weights, wOff, L, lOff, theMin, theMinIdx, Laux, rmin, rdelta, nstep,
                useMad, nstep + 1 >= CandidateLanes.MIN_CANDIDATES && CandidateLanes.usable());
    }

    /** {@link #makeQkx2Quants}, with the candidate search on vector lanes or not (same result either way). */
    static float makeQkx2Quants(int n, int nmax, float[] x, int xOff, float[] weights, int wOff, byte[] L, int lOff,
                                float[] theMin, int theMinIdx, byte[] Laux, float rmin, float rdelta, int nstep,
                                boolean useMad, boolean lanes) {
        float min = x[xOff];
        float max = x[xOff];
        float sumW = weights[wOff];
        float sumX = sumW * x[xOff];
        for (int i = 1; i < n; ++i) {
            float xi = x[xOff + i];
            if (xi < min) {
                min = xi;
            }
            if (xi > max) {
                max = xi;
            }
            float w = weights[wOff + i];
            sumW += w;
            sumX += w * xi;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; ++i) {
                L[lOff + i] = 0;
            }
            theMin[theMinIdx] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; ++i) {
            float xi = x[xOff + i];
            int l = nearestInt(iscale * (xi - min));
            int li = Math.max(0, Math.min(nmax, l));
            L[lOff + i] = (byte) li;
            float diff = scale * li + min - xi;
            diff = useMad ? Math.abs(diff) : diff * diff;
            float w = weights[wOff + i];
            bestError += w * diff;
        }
        if (nstep < 1) {
            theMin[theMinIdx] = -min;
            return scale;
        }
        return lanes
                ? CandidateLanes.qkx2Search(n, nmax, x, xOff, weights, wOff, L, lOff, theMin, theMinIdx, rmin, rdelta,
                nstep, useMad, min, max, sumW, sumX, scale, bestError)
                : qkx2SearchScalar(n, nmax, x, xOff, weights, wOff, L, lOff, theMin, theMinIdx, Laux, rmin, rdelta,
                nstep, useMad, min, max, sumW, sumX, scale, bestError);
    }

    /** The candidate loop of {@code make_qkx2_quants} as ggml runs it (the reference for {@link CandidateLanes}). */
    static float qkx2SearchScalar(int n, int nmax, float[] x, int xOff, float[] weights, int wOff, byte[] L, int lOff,
                                  float[] theMin, int theMinIdx, byte[] Laux, float rmin, float rdelta, int nstep,
                                  boolean useMad, float min, float max, float sumW, float sumX, float scale,
                                  float bestError) {
        float iscale;
        for (int is = 0; is <= nstep; ++is) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXl = 0;
            for (int i = 0; i < n; ++i) {
                float xi = x[xOff + i];
                int l = nearestInt(iscale * (xi - min));
                l = Math.max(0, Math.min(nmax, l));
                Laux[i] = (byte) l;
                float w = weights[wOff + i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXl += w * l * xi;
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0) {
                float thisScale = (sumW * sumXl - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / D;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; ++i) {
                    float diff = thisScale * (Laux[i] & 0xFF) + thisMin - x[xOff + i];
                    diff = useMad ? Math.abs(diff) : diff * diff;
                    float w = weights[wOff + i];
                    curError += w * diff;
                }
                if (curError < bestError) {
                    System.arraycopy(Laux, 0, L, lOff, n);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[theMinIdx] = -min;
        return scale;
    }

    /**
     * Port of {@code make_qkx3_quants}: {@link #makeQkx2Quants} with weights defaulting to x² when
     * {@code weights} is null and a {@code max <= min} degeneracy test. Used on the imatrix paths.
     */
    public static float makeQkx3Quants(int n, int nmax, float[] x, int xOff, float[] weights, int wOff, byte[] L,
                                       int lOff, float[] theMin, int theMinIdx, byte[] Laux, float rmin,
                                       float rdelta, int nstep, boolean useMad) {
        float min = x[xOff];
        float max = x[xOff];
        float sumW = weights != null ? weights[wOff] : x[xOff] * x[xOff];
        float sumX = sumW * x[xOff];
        for (int i = 1; i < n; ++i) {
            float xi = x[xOff + i];
            if (xi < min) {
                min = xi;
            }
            if (xi > max) {
                max = xi;
            }
            float w = weights != null ? weights[wOff + i] : xi * xi;
            sumW += w;
            sumX += w * xi;
        }
        if (min > 0) {
            min = 0;
        }
        if (max <= min) {
            for (int i = 0; i < n; ++i) {
                L[lOff + i] = 0;
            }
            theMin[theMinIdx] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestMad = 0;
        for (int i = 0; i < n; ++i) {
            float xi = x[xOff + i];
            int l = nearestInt(iscale * (xi - min));
            int li = Math.max(0, Math.min(nmax, l));
            L[lOff + i] = (byte) li;
            float diff = scale * li + min - xi;
            diff = useMad ? Math.abs(diff) : diff * diff;
            float w = weights != null ? weights[wOff + i] : xi * xi;
            bestMad += w * diff;
        }
        if (nstep < 1) {
            theMin[theMinIdx] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; ++is) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXl = 0;
            for (int i = 0; i < n; ++i) {
                float xi = x[xOff + i];
                int l = nearestInt(iscale * (xi - min));
                l = Math.max(0, Math.min(nmax, l));
                Laux[i] = (byte) l;
                float w = weights != null ? weights[wOff + i] : xi * xi;
                sumL += w * l;
                sumL2 += w * l * l;
                sumXl += w * l * xi;
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0) {
                float thisScale = (sumW * sumXl - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / D;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float mad = 0;
                for (int i = 0; i < n; ++i) {
                    float xi = x[xOff + i];
                    float diff = thisScale * (Laux[i] & 0xFF) + thisMin - xi;
                    diff = useMad ? Math.abs(diff) : diff * diff;
                    float w = weights != null ? weights[wOff + i] : xi * xi;
                    mad += w * diff;
                }
                if (mad < bestMad) {
                    System.arraycopy(Laux, 0, L, lOff, n);
                    bestMad = mad;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[theMinIdx] = -min;
        return scale;
    }

    /**
     * Port of {@code make_qp_quants}: quantizes non-negative values (sub-block scales or mins) to 0..nmax with
     * x ≈ scale·L, searching nine inverse scales and then refining single levels. {@code L} is C {@code uint8_t}:
     * a negative level (possible only for negative inputs) wraps on store exactly as in C.
     */
    public static float makeQpQuants(int n, int nmax, float[] x, int xOff, byte[] L, int lOff, float[] quantWeights,
                                     int qwOff) {
        float max = 0;
        for (int i = 0; i < n; ++i) {
            max = cMax(max, x[xOff + i]);
        }
        if (max < GROUP_MAX_EPS) { // all zero
            for (int i = 0; i < n; ++i) {
                L[lOff + i] = 0;
            }
            return 0.f;
        }
        float iscale = nmax / max;
        for (int i = 0; i < n; ++i) {
            L[lOff + i] = (byte) nearestInt(iscale * x[xOff + i]);
        }
        float scale = 1 / iscale;
        float bestMse = 0;
        for (int i = 0; i < n; ++i) {
            float diff = x[xOff + i] - scale * (L[lOff + i] & 0xFF);
            float w = quantWeights[qwOff + i];
            bestMse += w * diff * diff;
        }
        for (int is = -4; is <= 4; ++is) {
            if (is == 0) {
                continue;
            }
            float iscaleIs = (0.1f * is + nmax) / max;
            float scaleIs = 1 / iscaleIs;
            float mse = 0;
            for (int i = 0; i < n; ++i) {
                int l = nearestInt(iscaleIs * x[xOff + i]);
                l = Math.min(nmax, l);
                float diff = x[xOff + i] - scaleIs * l;
                float w = quantWeights[qwOff + i];
                mse += w * diff * diff;
            }
            if (mse < bestMse) {
                bestMse = mse;
                iscale = iscaleIs;
            }
        }
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * x[xOff + i]);
            l = Math.min(nmax, l);
            L[lOff + i] = (byte) l;
            float w = quantWeights[qwOff + i];
            sumlx += w * x[xOff + i] * l;
            suml2 += w * l * l;
        }
        for (int itry = 0; itry < 5; ++itry) {
            int nChanged = 0;
            for (int i = 0; i < n; ++i) {
                float w = quantWeights[qwOff + i];
                float xi = x[xOff + i];
                int li = L[lOff + i] & 0xFF;
                float slx = sumlx - w * xi * li;
                float sl2 = suml2 - w * li * li;
                if (slx > 0 && sl2 > 0) {
                    int newL = nearestInt(xi * sl2 / slx);
                    newL = Math.min(nmax, newL);
                    if (newL != li) {
                        slx += w * xi * newL;
                        sl2 += w * newL * newL;
                        if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                            L[lOff + i] = (byte) newL;
                            sumlx = slx;
                            suml2 = sl2;
                            ++nChanged;
                        }
                    }
                }
            }
            if (nChanged == 0) {
                break;
            }
        }
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }

    /** C's {@code MAX(a, b)} macro, {@code ((a) > (b) ? (a) : (b))}: unlike {@link Math#max}, NaN in b loses. */
    private static float cMax(float a, float b) {
        return a > b ? a : b;
    }
}
