package io.falconq.intquant;

import io.falconq.calib.HessianAccumulator;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AwqScalerTest {
    @Test
    void salientChannelsGetLargerScalesAndLowerOutputError() {
        int in = 128;
        int out = 32;
        int tokens = 512;
        Random rnd = new Random(9);
        float[] x = new float[tokens * in];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < in; i++) {
                // channels 0..3 are salient: 30× larger activations, as AWQ's outlier channels
                x[t * in + i] = (float) rnd.nextGaussian() * (i < 4 ? 30f : 1f);
            }
        }
        HessianAccumulator h = new HessianAccumulator(in);
        h.add(x, tokens, in);
        float[] meanAbs = new float[in];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < in; i++) {
                meanAbs[i] += Math.abs(x[t * in + i]) / tokens;
            }
        }
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.02f;
        }
        IntQuantScheme s = IntQuantScheme.w4(128);
        AwqScaler.Consumer c = new AwqScaler.Consumer(w, out);
        float[] ones = new float[in];
        java.util.Arrays.fill(ones, 1f);
        double[][] hm = h.hessian();
        double rtn = AwqScaler.scaledLoss(c, ones, hm, in, s);
        float[] scales = AwqScaler.search(meanAbs, hm, new AwqScaler.Consumer[] {c}, in, s);
        double awq = AwqScaler.scaledLoss(c, scales, hm, in, s);
        // RTN (s ≡ 1) is not a duo-scaling candidate; with salient channels the chosen s is clearly better
        assertTrue(awq < 0.8 * rtn, "AWQ loss " + awq + " vs RTN " + rtn);
        assertTrue(scales[0] > scales[100], "salient channel scale " + scales[0] + " vs ordinary " + scales[100]);
    }

    @Test
    void tiedChannelsShareOneScale() {
        int in = 16;
        Random rnd = new Random(3);
        float[] meanAbs = new float[in];
        for (int i = 0; i < in; i++) {
            meanAbs[i] = 0.5f + rnd.nextFloat();
        }
        double[][] h = new double[in][in];
        for (int i = 0; i < in; i++) {
            h[i][i] = 1;
        }
        float[] w = new float[8 * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        int[] cls = new int[in];
        for (int i = 0; i < in; i++) {
            cls[i] = i % 4; // four classes, as four kv channels read by four query heads
        }
        float[] s = AwqScaler.search(meanAbs, h, new AwqScaler.Consumer[] {new AwqScaler.Consumer(w, 8)}, in,
                new IntQuantScheme(4, 8, true, false), cls);
        for (int i = 4; i < in; i++) {
            assertEquals(s[i % 4], s[i], 0f, "channel " + i);
        }
    }
    @Test
    void mlpForwardMatchesADoublePrecisionReference() {
        int h = 24;
        int f = 40;
        int n = 7;
        Random rnd = new Random(5);
        AwqScaler.Mlp mlp = new AwqScaler.Mlp(gaussian(rnd, f * h, 0.2f), gaussian(rnd, f * h, 0.2f),
                gaussian(rnd, h * f, 0.2f), h, f, 0.7);
        float[] x = gaussian(rnd, n * h, 1f);
        float[] y = AwqScaler.mlpForward(mlp, mlp.gate(), mlp.up(), x, n);
        for (int t = 0; t < n; t++) {
            double[] act = new double[f];
            for (int j = 0; j < f; j++) {
                double g = 0;
                double u = 0;
                for (int i = 0; i < h; i++) {
                    g += (double) mlp.gate()[j * h + i] * x[t * h + i];
                    u += (double) mlp.up()[j * h + i] * x[t * h + i];
                }
                g *= 0.7;
                act[j] = u * g / (1 + Math.exp(-g));
            }
            for (int o = 0; o < h; o++) {
                double ref = 0;
                for (int j = 0; j < f; j++) {
                    ref += (double) mlp.down()[o * f + j] * act[j];
                }
                // float accumulation over 24 then 40 terms of O(1) values: a few ulps of the partial sums
                assertEquals(ref, y[t * h + o], 1e-4 * (1 + Math.abs(ref)), "token " + t + " output " + o);
            }
        }
    }

    @Test
    void mlpOutputSearchProtectsSalientChannels() {
        int h = 128;
        int f = 64;
        int n = 256;
        Random rnd = new Random(11);
        float[] x = new float[n * h];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < h; i++) {
                x[t * h + i] = (float) rnd.nextGaussian() * (i < 4 ? 30f : 1f);
            }
        }
        float[] meanAbs = new float[h];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < h; i++) {
                meanAbs[i] += Math.abs(x[t * h + i]) / n;
            }
        }
        AwqScaler.Mlp mlp = new AwqScaler.Mlp(gaussian(rnd, f * h, 0.02f), gaussian(rnd, f * h, 0.02f),
                gaussian(rnd, h * f, 0.1f), h, f, 1.0);
        IntQuantScheme s = IntQuantScheme.w4(128);
        float[] ones = new float[h];
        java.util.Arrays.fill(ones, 1f);
        float[] scales = AwqScaler.searchMlp(meanAbs, mlp, x, n, s);
        double rtn = mlpError(mlp, ones, x, n, s);
        double awq = mlpError(mlp, scales, x, n, s);
        assertTrue(awq < 0.8 * rtn, "AWQ MLP-output error " + awq + " vs RTN " + rtn);
        assertTrue(scales[0] > scales[100], "salient channel scale " + scales[0] + " vs ordinary " + scales[100]);
    }

    private static double mlpError(AwqScaler.Mlp mlp, float[] scales, float[] x, int n, IntQuantScheme s) {
        float[] ref = AwqScaler.mlpForward(mlp, mlp.gate(), mlp.up(), x, n);
        float[] y = AwqScaler.mlpForward(mlp, AwqScaler.quantizedUnscaled(mlp.gate(), mlp.inter(), mlp.hidden(), scales, s),
                AwqScaler.quantizedUnscaled(mlp.up(), mlp.inter(), mlp.hidden(), scales, s), x, n);
        double e = 0;
        for (int i = 0; i < y.length; i++) {
            e += ((double) y[i] - ref[i]) * ((double) y[i] - ref[i]);
        }
        return e;
    }

    private static float[] gaussian(Random rnd, int len, float sd) {
        float[] v = new float[len];
        for (int i = 0; i < len; i++) {
            v[i] = (float) rnd.nextGaussian() * sd;
        }
        return v;
    }
}
