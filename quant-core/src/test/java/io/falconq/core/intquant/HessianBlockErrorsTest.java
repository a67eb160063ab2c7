package io.falconq.core.intquant;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class HessianBlockErrorsTest {

    /**
     * The vector path must give the scalar reference's doubles bit for bit (the clip it picks decides the written
     * integers): groups of 128 and of odd lengths (a tail of rows after the blocks of four), weights with exact
     * zeros and values on the grid (d = 0 terms), a Hessian that is not symmetric, at an offset inside it.
     */
    @Test
    void vectorPathGivesTheScalarDoubles() {
        Random rnd = new Random(5);
        for (IntQuantScheme s : new IntQuantScheme[] {IntQuantScheme.w4(128), IntQuantScheme.w8().withSymmetric(false)}) {
            for (int len : new int[] {128, 37, 3, 64}) {
                int hOff = 5;
                int n = hOff + len + 2;
                double[][] h = new double[n][n];
                for (double[] row : h) {
                    for (int j = 0; j < n; j++) {
                        row[j] = rnd.nextGaussian();
                    }
                }
                float[] x = new float[len + 4];
                for (int j = 0; j < x.length; j++) {
                    x[j] = j % 7 == 0 ? 0f : (float) rnd.nextGaussian() * 0.02f;
                }
                GroupQuantizer.Params[] candidates = new GroupQuantizer.Params[10];
                for (int i = 0; i < candidates.length; i++) {
                    candidates[i] = GroupQuantizer.fromRange(-0.05f * (1 - i / 20f), 0.04f * (1 - i / 20f), s);
                }
                double[] scalar = HessianBlockErrors.scalar(x, 2, len, candidates, s.maxq(), h, hOff);
                double[] vector = HessianBlockErrors.vector(x, 2, len, candidates, s.maxq(), h, hOff);
                assertArrayEquals(scalar, vector, 0.0, s + ", group of " + len);
            }
        }
    }
}
