package io.falconq.it;

import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.InferenceState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The two execution modes agree, and the thread count changes nothing.
 *
 * <p>Window mode (one matrix–matrix product per layer over all tokens) and token-by-token mode (KV cache, conv and
 * SSM states, matrix–vector products) sum in different orders, so they agree to float rounding: within
 * {@link TinyModelGoldenIT#LOGIT_REL_TOL} of each position's logit range (measured ≈ 5e-7). Splitting a prompt into
 * a window followed by single tokens must agree the same way. Work is cut into thread-independent tasks, so 1 and 2
 * threads (and 3) must give bit-identical logits in both modes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RuntimeDeterminismIT {
    private FalconH1Model model;
    private int[] ids;

    @BeforeAll
    void load() {
        model = FalconH1Model.load(CliRun.shared("models/falcon-h1-tiny"));
        ids = GoldenData.prompts().get(2).ids(); // 93 tokens, no BOS
    }

    @AfterAll
    void close() {
        model.close();
    }

    private float[] tokenByToken(FalconH1Forward f, int[] tokens) {
        int v = model.config().vocabSize();
        float[] all = new float[tokens.length * v];
        InferenceState st = f.newState(tokens.length);
        for (int t = 0; t < tokens.length; t++) {
            System.arraycopy(f.forwardToken(st, tokens[t]), 0, all, t * v, v);
        }
        return all;
    }

    private void assertClose(float[] expected, float[] actual, String what) {
        int v = model.config().vocabSize();
        for (int t = 0; t < expected.length / v; t++) {
            float lo = Float.POSITIVE_INFINITY;
            float hi = Float.NEGATIVE_INFINITY;
            double err = 0;
            for (int i = t * v; i < (t + 1) * v; i++) {
                lo = Math.min(lo, expected[i]);
                hi = Math.max(hi, expected[i]);
                err = Math.max(err, Math.abs(expected[i] - actual[i]));
            }
            double tol = TinyModelGoldenIT.LOGIT_REL_TOL * (hi - lo);
            assertTrue(err <= tol, what + ": position " + t + " max |error| " + err + " > " + tol);
        }
    }

    @Test
    void tokenByTokenModeMatchesWindowMode() {
        try (FalconH1Forward f = new FalconH1Forward(model, 2)) {
            float[] window = GoldenChecks.windowLogits(f, ids);
            assertClose(window, tokenByToken(f, ids), "token-by-token vs window");
        }
    }

    @Test
    void windowThenTokensMatchesOneWindow() {
        int v = model.config().vocabSize();
        try (FalconH1Forward f = new FalconH1Forward(model, 2)) {
            float[] window = GoldenChecks.windowLogits(f, ids);
            int split = 40;
            InferenceState st = f.newState(ids.length);
            float[] mixed = new float[ids.length * v];
            System.arraycopy(f.forward(st, ids, 0, split, 0, null), 0, mixed, 0, split * v);
            for (int t = split; t < ids.length; t++) {
                System.arraycopy(f.forwardToken(st, ids[t]), 0, mixed, t * v, v);
            }
            assertClose(window, mixed, "window of 40 then single tokens vs one window");
        }
    }

    @Test
    void oneTwoAndThreeThreadsGiveBitIdenticalLogits() {
        float[][] window = new float[3][];
        float[][] tokens = new float[3][];
        for (int threads = 1; threads <= 3; threads++) {
            try (FalconH1Forward f = new FalconH1Forward(model, threads)) {
                window[threads - 1] = GoldenChecks.windowLogits(f, ids);
                tokens[threads - 1] = tokenByToken(f, Arrays.copyOf(ids, 20));
            }
        }
        for (int i = 1; i < 3; i++) {
            assertArrayEquals(window[0], window[i], "window mode, " + (i + 1) + " threads vs 1");
            assertArrayEquals(tokens[0], tokens[i], "token mode, " + (i + 1) + " threads vs 1");
        }
    }

    @Test
    void repeatedRunsAreBitIdentical() {
        // the first run executes partly in the interpreter and C1, later ones in C2: no kernel may depend on that
        try (FalconH1Forward f = new FalconH1Forward(model, 2)) {
            float[] first = GoldenChecks.windowLogits(f, ids);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(first, GoldenChecks.windowLogits(f, ids), "run " + (i + 2) + " vs run 1");
            }
        }
    }
}
