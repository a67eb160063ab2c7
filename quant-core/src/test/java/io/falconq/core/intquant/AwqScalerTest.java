package io.falconq.core.intquant;

import io.falconq.core.calib.HessianAccumulator;
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
}
