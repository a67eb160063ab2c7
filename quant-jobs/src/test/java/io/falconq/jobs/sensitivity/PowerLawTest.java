package io.falconq.jobs.sensitivity;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The two-point law the cheaper methods predict with. */
class PowerLawTest {
    @Test
    void recoversAPowerLawThroughItsTwoPoints() {
        // ΔKLD = 3e-4 · e^1.5 sampled at e = 4 and e = 1: every other error is predicted exactly
        TensorMeasurement.PowerLaw law = TensorMeasurement.PowerLaw.through(4, 3e-4 * 8, 1, 3e-4);
        assertEquals(1.5, law.slope(), 1e-12);
        for (double e : new double[] {0.01, 0.5, 2, 9}) {
            assertEquals(3e-4 * Math.pow(e, 1.5), law.predict(e), 1e-15 * Math.pow(e, 1.5));
        }
    }

    @Test
    void slopeIsClampedAndFallsBackToOneWithoutTwoUsablePoints() {
        // ΔKLD 1000× for 2× the error would be slope ~10: kept at 2
        assertEquals(2.0, TensorMeasurement.PowerLaw.through(2, 1, 1, 1e-3).slope(), 0);
        // the mid point at the noise floor (≤ 0): slope 1 through the largest
        TensorMeasurement.PowerLaw noisy = TensorMeasurement.PowerLaw.through(4, 2e-3, 1, -1e-9);
        assertEquals(1.0, noisy.slope(), 0);
        assertEquals(1e-3, noisy.predict(2), 1e-18);
        // one candidate only (hi == mid): slope 1
        assertEquals(1.0, TensorMeasurement.PowerLaw.through(4, 2e-3, 4, 2e-3).slope(), 0);
        assertEquals(0.0, TensorMeasurement.PowerLaw.through(0, 0, 0, 0).predict(1), 0);
    }
}
