package io.falconq.runtime.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Mamba2 selective-scan recurrence for one SSM head over T consecutive tokens (SPEC.md §1.3, the sequential
 * form {@code ssd_sequential} of the reference):
 * <pre>
 *   dA = exp(δ_t · A)
 *   s[n,p] = s[n,p] · dA + (δ_t · x_t[p]) · B_t[n]
 *   y_t[p] = Σ_n s[n,p] · C_t[n] + D · x_t[p]
 * </pre>
 * The state is laid out {@code (S, P)} per head so the vector path runs across the P channels of the head: no
 * horizontal reduction, and y sums over n in ascending order on both paths.
 */
public final class ScanKernel {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();

    private ScanKernel() {
    }

    /**
     * @param xbc       T rows of the activated conv output, row stride {@code xbcStride}; x of this head at column
     *                  {@code xOff}, its group's B at {@code bOff}, C at {@code cOff}
     * @param dt        T rows of softplus(dt + dt_bias), stride {@code dtStride}; this head's value at column {@code head}
     * @param state     (S, P) floats at {@code stateOff}, read and updated
     * @param y         T output rows, stride {@code yStride}, this head's P values at column {@code yOff}
     */
    public static void scanHead(int tokens, float[] xbc, int xbcStride, int xOff, int bOff, int cOff,
                                float[] dt, int dtStride, int head, float a, float d,
                                float[] state, int stateOff, int p, int s, float[] y, int yStride, int yOff) {
        if (KernelMode.VECTOR) {
            scanHeadVector(tokens, xbc, xbcStride, xOff, bOff, cOff, dt, dtStride, head, a, d, state, stateOff, p, s,
                    y, yStride, yOff);
        } else {
            scanHeadScalar(tokens, xbc, xbcStride, xOff, bOff, cOff, dt, dtStride, head, a, d, state, stateOff, p, s,
                    y, yStride, yOff);
        }
    }

    public static void scanHeadScalar(int tokens, float[] xbc, int xbcStride, int xOff, int bOff, int cOff,
                                      float[] dt, int dtStride, int head, float a, float d,
                                      float[] state, int stateOff, int p, int s, float[] y, int yStride, int yOff) {
        for (int t = 0; t < tokens; t++) {
            float delta = dt[t * dtStride + head];
            float dA = (float) Math.exp(delta * a);
            int row = t * xbcStride;
            for (int i = 0; i < p; i++) {
                float x = xbc[row + xOff + i];
                float dx = delta * x;
                float acc = 0f;
                for (int n = 0; n < s; n++) {
                    int si = stateOff + n * p + i;
                    float v = state[si] * dA + dx * xbc[row + bOff + n];
                    state[si] = v;
                    acc += v * xbc[row + cOff + n];
                }
                y[t * yStride + yOff + i] = acc + d * x;
            }
        }
    }

    public static void scanHeadVector(int tokens, float[] xbc, int xbcStride, int xOff, int bOff, int cOff,
                                      float[] dt, int dtStride, int head, float a, float d,
                                      float[] state, int stateOff, int p, int s, float[] y, int yStride, int yOff) {
        int pv = p - p % L;
        for (int t = 0; t < tokens; t++) {
            float delta = dt[t * dtStride + head];
            float dA = (float) Math.exp(delta * a);
            int row = t * xbcStride;
            for (int i = 0; i < pv; i += L) {
                FloatVector x = FloatVector.fromArray(F, xbc, row + xOff + i);
                FloatVector dx = x.mul(delta);
                FloatVector acc = FloatVector.zero(F);
                int si = stateOff + i;
                for (int n = 0; n < s; n++, si += p) {
                    FloatVector v = dx.fma(FloatVector.broadcast(F, xbc[row + bOff + n]),
                            FloatVector.fromArray(F, state, si).mul(dA));
                    v.intoArray(state, si);
                    acc = v.fma(FloatVector.broadcast(F, xbc[row + cOff + n]), acc);
                }
                acc.add(x.mul(d)).intoArray(y, t * yStride + yOff + i);
            }
            for (int i = pv; i < p; i++) {
                float x = xbc[row + xOff + i];
                float dx = delta * x;
                float acc = 0f;
                for (int n = 0; n < s; n++) {
                    int si = stateOff + n * p + i;
                    float v = Math.fma(dx, xbc[row + bOff + n], state[si] * dA);
                    state[si] = v;
                    acc = Math.fma(v, xbc[row + cOff + n], acc);
                }
                y[t * yStride + yOff + i] = acc + x * d;
            }
        }
    }
}
