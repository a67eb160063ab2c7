package io.falconq.core.quant.kquant;

import io.falconq.core.quant.VectorMode;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static io.falconq.core.quant.GgmlRounding.nearestInt;

/**
 * The candidate-scale loops of {@link KQuantSearch#makeQkx2Quants} and {@link KQuantSearch#makeQxQuants} with one
 * candidate per vector lane. In ggml every candidate scale is scored by its own sums, each a serial chain of float
 * additions over the group, and only the final choice compares candidates. Here each lane runs one candidate's
 * chain with the very operations and order of the scalar port (no fused multiply-add, no reassociation), so the
 * sums, hence the choice and the bytes, are identical; what changes is that 16 chains advance per instruction
 * instead of one. The choice itself is then made in candidate order on the lane results, as ggml makes it.
 */
final class CandidateLanes {
    private static final VectorSpecies<Float> F = VectorMode.FLOAT_SPECIES;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED.length() == F.length()
            ? IntVector.SPECIES_PREFERRED : VectorSpecies.of(int.class, F.vectorShape());
    /** 1.5·2²³: adding it leaves round-to-nearest-even of a small float in the low mantissa bits (nearest_int). */
    private static final float MAGIC = 12582912.f;
    // constants as vectors: operations with scalar arguments (add(float), and(int), compare(op, float)...) were
    // sometimes left on the Vector API's allocating Java fallback by C2 (LegacyQuantLanes)
    private static final FloatVector MAGIC_F = FloatVector.broadcast(F, MAGIC);
    private static final IntVector MANTISSA = IntVector.broadcast(I, 0x007fffff);
    private static final IntVector HALF = IntVector.broadcast(I, 0x00400000);

    /** Worth the vector set-up from this many candidates on; the lanes must also hold whole int lanes of F. */
    static final int MIN_CANDIDATES = 8;

    static boolean usable() {
        return VectorMode.ENABLED && I.length() == F.length();
    }

    private static final class Scratch {
        float[] iscale = new float[64];
        float[] d = new float[64];
        float[] sumL = new float[64];
        float[] sumL2 = new float[64];
        float[] sumXl = new float[64];
        float[] error = new float[64];
        float[] scale = new float[64];
        float[] min = new float[64];
        float[] xMinusMin = new float[64];
        float[] weight = new float[64];

        void ensure(int candidates, int n) {
            int c = candidates + F.length();
            if (iscale.length < c) {
                iscale = new float[c];
                d = new float[c];
                sumL = new float[c];
                sumL2 = new float[c];
                sumXl = new float[c];
                error = new float[c];
                scale = new float[c];
                min = new float[c];
            }
            if (xMinusMin.length < n) {
                xMinusMin = new float[n];
                weight = new float[n];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private CandidateLanes() {
    }

    /**
     * The {@code for (int is = 0; is <= nstep; ++is)} search of {@code make_qkx2_quants}, entered with the state the
     * scalar port has before it (first fit in {@code L}, its {@code scale}, {@code min}, {@code bestError}); writes
     * the winning levels to {@code L}, its min to {@code theMin[theMinIdx]} (negated, as ggml stores it) and returns
     * its scale.
     *
     * <p>ggml's loop is not fully parallel: each improvement replaces {@code min}, and later candidates quantize
     * {@code x − min} with the new one. So the lanes evaluate every remaining candidate speculatively with the
     * current min; the ordered scan accepts results up to the first improvement that changes min, and the
     * candidates after it are evaluated again with the new min.
     */
    static float qkx2Search(int n, int nmax, float[] x, int xOff, float[] weights, int wOff, byte[] L, int lOff,
                            float[] theMin, int theMinIdx, float rmin, float rdelta, int nstep, boolean useMad,
                            float min, float max, float sumW, float sumX, float scale, float bestError) {
        int candidates = nstep + 1;
        Scratch s = SCRATCH.get();
        s.ensure(candidates, n);
        int from = 0;
        scan:
        while (from < candidates) {
            qkx2Evaluate(s, from, candidates, n, nmax, x, xOff, weights, wOff, rmin, rdelta, useMad, min, max, sumW,
                    sumX);
            for (int is = from; is < candidates; ++is) {
                if (s.d[is] > 0 && s.error[is] < bestError) {
                    float iscale = s.iscale[is];
                    for (int i = 0; i < n; ++i) {
                        int l = nearestInt(iscale * s.xMinusMin[i]);
                        L[lOff + i] = (byte) Math.max(0, Math.min(nmax, l));
                    }
                    bestError = s.error[is];
                    scale = s.scale[is];
                    boolean minChanged = Float.floatToRawIntBits(s.min[is]) != Float.floatToRawIntBits(min);
                    min = s.min[is];
                    if (minChanged) {
                        from = is + 1;
                        continue scan;
                    }
                }
            }
            break;
        }
        theMin[theMinIdx] = -min;
        return scale;
    }

    /** Candidates {@code [from, candidates)} with the current {@code min}: D, error, scale and min. */
    private static void qkx2Evaluate(Scratch s, int from, int candidates, int n, int nmax, float[] x, int xOff,
                                     float[] weights, int wOff, float rmin, float rdelta, boolean useMad, float min,
                                     float max, float sumW, float sumX) {
        for (int is = from; is < candidates; ++is) {
            s.iscale[is] = (rmin + rdelta * is + nmax) / (max - min);
        }
        for (int i = 0; i < n; i++) {
            s.xMinusMin[i] = x[xOff + i] - min;
        }
        IntVector zero = IntVector.zero(I);
        IntVector top = IntVector.broadcast(I, nmax);
        FloatVector zeros = FloatVector.zero(F);
        FloatVector sumWv = FloatVector.broadcast(F, sumW);
        FloatVector sumXv = FloatVector.broadcast(F, sumX);
        for (int c0 = from; c0 < candidates; c0 += F.length()) {
            VectorMask<Float> m = F.indexInRange(c0, candidates);
            FloatVector iscale = FloatVector.fromArray(F, s.iscale, c0, m);
            // The sums live in the scratch arrays (one vector of slack past the candidates), not in vectors carried
            // around the loop, and every scalar operand is broadcast explicitly: written the short way, C2 now and
            // then compiled this search onto the Vector API's allocating Java fallback for the rest of the run (a
            // 0.5B Q4_K_M requantize took 235 s instead of 21). Two elements per trip halve the array round trips;
            // each sum still adds its terms in element order. The levels are MAX(0, MIN(nmax, nearest_int(iscale·v)))
            // per lane, as float (exact: small ints), written out rather than in a helper returning a vector.
            zeros.intoArray(s.sumL, c0);
            zeros.intoArray(s.sumL2, c0);
            zeros.intoArray(s.sumXl, c0);
            int i = 0;
            for (; i + 1 < n; i += 2) {
                FloatVector l0 = (FloatVector) iscale.mul(FloatVector.broadcast(F, s.xMinusMin[i])).add(MAGIC_F)
                        .reinterpretAsInts().and(MANTISSA).sub(HALF).max(zero).min(top)
                        .convert(VectorOperators.I2F, 0);
                FloatVector l1 = (FloatVector) iscale.mul(FloatVector.broadcast(F, s.xMinusMin[i + 1])).add(MAGIC_F)
                        .reinterpretAsInts().and(MANTISSA).sub(HALF).max(zero).min(top)
                        .convert(VectorOperators.I2F, 0);
                FloatVector wl0 = l0.mul(FloatVector.broadcast(F, weights[wOff + i]));
                FloatVector wl1 = l1.mul(FloatVector.broadcast(F, weights[wOff + i + 1]));
                FloatVector.fromArray(F, s.sumL, c0).add(wl0).add(wl1).intoArray(s.sumL, c0);
                FloatVector.fromArray(F, s.sumL2, c0).add(wl0.mul(l0)).add(wl1.mul(l1)).intoArray(s.sumL2, c0);
                FloatVector.fromArray(F, s.sumXl, c0).add(wl0.mul(FloatVector.broadcast(F, x[xOff + i])))
                        .add(wl1.mul(FloatVector.broadcast(F, x[xOff + i + 1]))).intoArray(s.sumXl, c0);
            }
            if (i < n) {
                FloatVector l0 = (FloatVector) iscale.mul(FloatVector.broadcast(F, s.xMinusMin[i])).add(MAGIC_F)
                        .reinterpretAsInts().and(MANTISSA).sub(HALF).max(zero).min(top)
                        .convert(VectorOperators.I2F, 0);
                FloatVector wl0 = l0.mul(FloatVector.broadcast(F, weights[wOff + i]));
                FloatVector.fromArray(F, s.sumL, c0).add(wl0).intoArray(s.sumL, c0);
                FloatVector.fromArray(F, s.sumL2, c0).add(wl0.mul(l0)).intoArray(s.sumL2, c0);
                FloatVector.fromArray(F, s.sumXl, c0).add(wl0.mul(FloatVector.broadcast(F, x[xOff + i])))
                        .intoArray(s.sumXl, c0);
            }
            FloatVector sumL = FloatVector.fromArray(F, s.sumL, c0);
            FloatVector sumL2 = FloatVector.fromArray(F, s.sumL2, c0);
            FloatVector sumXl = FloatVector.fromArray(F, s.sumXl, c0);
            FloatVector d = sumL2.mul(sumWv).sub(sumL.mul(sumL));
            sumXl.mul(sumWv).sub(sumL.mul(sumXv)).div(d).intoArray(s.scale, c0);
            sumL2.mul(sumXv).sub(sumL.mul(sumXl)).div(d).intoArray(s.min, c0);
            d.intoArray(s.d, c0);
            // if (this_min > 0) { this_min = 0; this_scale = sum_xl / sum_l2; } per candidate, in scalar code: the
            // vector version (compare + blend) also stayed on the fallback
            for (int k = c0, end = Math.min(c0 + F.length(), candidates); k < end; k++) {
                if (s.min[k] > 0) {
                    s.min[k] = 0;
                    s.scale[k] = s.sumXl[k] / s.sumL2[k];
                }
            }
            FloatVector thisScale = FloatVector.fromArray(F, s.scale, c0);
            FloatVector thisMin = FloatVector.fromArray(F, s.min, c0);
            zeros.intoArray(s.error, c0);
            for (int j = 0; j < n; ++j) {
                FloatVector l = (FloatVector) iscale.mul(FloatVector.broadcast(F, s.xMinusMin[j])).add(MAGIC_F)
                        .reinterpretAsInts().and(MANTISSA).sub(HALF).max(zero).min(top)
                        .convert(VectorOperators.I2F, 0);
                FloatVector diff = thisScale.mul(l).add(thisMin).sub(FloatVector.broadcast(F, x[xOff + j]));
                diff = useMad ? diff.abs() : diff.mul(diff);
                FloatVector.fromArray(F, s.error, c0).add(diff.mul(FloatVector.broadcast(F, weights[wOff + j])))
                        .intoArray(s.error, c0);
            }
        }
    }

    /**
     * The {@code for (int is = -9; is <= 9; ++is)} search of {@code make_qx_quants} (rmse_type > 0), entered with the
     * first fit in {@code L} and its {@code scale} and {@code best}; returns the chosen scale, levels in {@code L}.
     */
    static float qxSearch(int n, int nmax, float[] x, int xOff, byte[] L, int lOff, int rmseType, float[] qw,
                          int qwOff, float max, float scale, float best) {
        final int candidates = 18;
        Scratch s = SCRATCH.get();
        s.ensure(candidates, n);
        for (int k = 0; k < candidates; k++) {
            int is = k < 9 ? k - 9 : k - 8;
            s.iscale[k] = -(nmax + 0.1f * is) / max;
        }
        for (int i = 0; i < n; i++) {
            float xi = x[xOff + i];
            s.weight[i] = qw != null ? qw[qwOff + i] : KQuantSearch.qxWeight(rmseType, xi);
        }
        IntVector low = IntVector.broadcast(I, -nmax);
        IntVector high = IntVector.broadcast(I, nmax - 1);
        FloatVector zeros = FloatVector.zero(F);
        for (int c0 = 0; c0 < candidates; c0 += F.length()) {
            VectorMask<Float> m = F.indexInRange(c0, candidates);
            FloatVector iscale = FloatVector.fromArray(F, s.iscale, c0, m);
            // sums in the scratch arrays rather than loop-carried vectors (see qkx2Evaluate); lanes past the
            // candidates land in the arrays' slack and are never read
            zeros.intoArray(s.sumXl, c0);
            zeros.intoArray(s.sumL2, c0);
            for (int i = 0; i < n; ++i) {
                float xi = x[xOff + i];
                float w = s.weight[i];
                // MAX(lo, MIN(hi, nearest_int(iscale * v))) per lane, as float (exact: small ints), written out
                // rather than in a helper returning a vector (LegacyQuantLanes says why)
                FloatVector l = (FloatVector) iscale.mul(FloatVector.broadcast(F, xi)).add(MAGIC_F)
                        .reinterpretAsInts().and(MANTISSA).sub(HALF).max(low).min(high)
                        .convert(VectorOperators.I2F, 0);
                FloatVector.fromArray(F, s.sumXl, c0).add(l.mul(FloatVector.broadcast(F, w * xi)))
                        .intoArray(s.sumXl, c0);
                FloatVector.fromArray(F, s.sumL2, c0).add(l.mul(FloatVector.broadcast(F, w)).mul(l))
                        .intoArray(s.sumL2, c0);
            }
        }
        int chosen = -1;
        for (int k = 0; k < candidates; k++) {
            float sumlx = s.sumXl[k];
            float suml2 = s.sumL2[k];
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                scale = sumlx / suml2;
                best = scale * sumlx;
                chosen = k;
            }
        }
        if (chosen >= 0) {
            float iscale = s.iscale[chosen];
            for (int i = 0; i < n; ++i) {
                int l = nearestInt(iscale * x[xOff + i]);
                L[lOff + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, l)));
            }
        }
        return scale;
    }
}
