package io.falconq.it;

import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.InferenceState;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Comparisons of a runtime against {@code golden/}, shared by the single-file, sharded and GGUF tests. */
final class GoldenChecks {
    private GoldenChecks() {
    }

    /** All-position logits of a prompt, window mode, fresh state. */
    static float[] windowLogits(FalconH1Forward f, int[] ids) {
        InferenceState st = f.newState(ids.length);
        return f.forward(st, ids, 0, ids.length, 0, null).clone();
    }

    /** All-position logits of a prompt fed one token at a time, fresh state. */
    static float[] tokenByTokenLogits(FalconH1Forward f, int[] ids) {
        int v = f.model().config().vocabSize();
        float[] all = new float[ids.length * v];
        InferenceState st = f.newState(ids.length);
        for (int t = 0; t < ids.length; t++) {
            System.arraycopy(f.forwardToken(st, ids[t]), 0, all, t * v, v);
        }
        return all;
    }

    /**
     * {@code actual} within {@link TinyModelGoldenIT#LOGIT_REL_TOL} of each position's logit range in {@code expected}
     * (all-position logits, {@code vocab} per position): the same float32 model summed in another order.
     */
    static void assertPositionsClose(float[] expected, float[] actual, int vocab, String what) {
        for (int t = 0; t < expected.length / vocab; t++) {
            float lo = Float.POSITIVE_INFINITY;
            float hi = Float.NEGATIVE_INFINITY;
            double err = 0;
            for (int i = t * vocab; i < (t + 1) * vocab; i++) {
                lo = Math.min(lo, expected[i]);
                hi = Math.max(hi, expected[i]);
                err = Math.max(err, Math.abs(expected[i] - actual[i]));
            }
            double tol = TinyModelGoldenIT.LOGIT_REL_TOL * (hi - lo);
            assertTrue(err <= tol, what + ": position " + t + " max |error| " + err + " > " + tol);
        }
    }

    /**
     * For every golden prompt: last-position logits within {@code relTol × (logit range)}, and at every position the
     * top-5 ids equal (a swap counts as equal only between entries whose logits are within the same tolerance, i.e.
     * a genuine tie at float precision) with our logits of the golden top-5 ids within the tolerance too.
     *
     * @return the worst last-position error relative to the range, over the prompts
     */
    static double assertLogitsMatch(FalconH1Forward f, double relTol, String what) {
        double worst = 0;
        int vocab = f.model().config().vocabSize();
        for (GoldenData.Prompt p : GoldenData.prompts()) {
            float[] logits = windowLogits(f, p.ids());
            int t1 = p.ids().length - 1;
            double tol = relTol * p.logitRange();
            double maxErr = 0;
            for (int v = 0; v < vocab; v++) {
                maxErr = Math.max(maxErr, Math.abs(logits[t1 * vocab + v] - p.lastLogits()[v]));
            }
            worst = Math.max(worst, maxErr / p.logitRange());
            assertTrue(maxErr <= tol, what + " " + p.name() + ": last-position logits max |error| " + maxErr
                    + " > " + tol + " (" + relTol + " × range " + p.logitRange() + ")");
            for (int t = 0; t < p.ids().length; t++) {
                int[] ours = top5(logits, t * vocab, vocab);
                int[] golden = p.top5Ids()[t];
                for (int r = 0; r < 5; r++) {
                    float ourValueOfGolden = logits[t * vocab + golden[r]];
                    assertEquals(p.top5Values()[t][r], ourValueOfGolden, tol, what + " " + p.name() + " position " + t
                            + " rank " + r + ": logit of golden top id " + golden[r]);
                    if (ours[r] != golden[r]) {
                        float gap = Math.abs(logits[t * vocab + ours[r]] - ourValueOfGolden);
                        if (gap > tol) {
                            fail(what + " " + p.name() + " position " + t + ": top-5 " + java.util.Arrays.toString(ours)
                                    + ", golden " + java.util.Arrays.toString(golden) + " (not a tie: gap " + gap + ")");
                        }
                    }
                }
            }
        }
        return worst;
    }

    static int[] top5(float[] logits, int off, int n) {
        int[] best = {-1, -1, -1, -1, -1};
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            for (int r = 0; r < 5; r++) {
                if (best[r] < 0 || v > logits[off + best[r]]) {
                    System.arraycopy(best, r, best, r + 1, 4 - r);
                    best[r] = i;
                    break;
                }
            }
        }
        return best;
    }

    /** Worst error of one hidden-state tensor, relative to the tensor's largest |golden value|. */
    record TensorError(String name, double maxAbsError, double scale) {
        double relative() {
            return maxAbsError / scale;
        }
    }

    /**
     * Runs the hidden-state prompt with an observer and compares every dumped tensor (same names as the reference
     * trace); fails if one is missing or off by more than {@code relTol} of its largest |value|.
     */
    static List<TensorError> assertHiddenStatesMatch(FalconH1Forward f, double relTol, String what) {
        int[] ids = GoldenData.hiddenStateIds();
        Map<String, float[]> captured = new HashMap<>();
        Map<String, int[]> shapes = new HashMap<>();
        InferenceState st = f.newState(ids.length);
        f.forward(st, ids, 0, ids.length, 0, (tap, layer, data, rows, cols) -> {
            captured.put(tap.referenceName(layer), java.util.Arrays.copyOf(data, rows * cols));
            shapes.put(tap.referenceName(layer), new int[] {rows, cols});
        });
        List<TensorError> errors = new ArrayList<>();
        for (GoldenData.HiddenState hs : GoldenData.hiddenStates()) {
            Npy golden = Npy.read(hs.file());
            float[] ours = captured.get(hs.name());
            if (ours == null) {
                fail(what + ": the runtime did not report " + hs.name());
            }
            assertArrayEquals(new long[] {1, shapes.get(hs.name())[0], shapes.get(hs.name())[1]}, golden.shape(),
                    what + " " + hs.name() + " shape");
            double scale = 0;
            double err = 0;
            for (int i = 0; i < ours.length; i++) {
                scale = Math.max(scale, Math.abs(golden.data()[i]));
                err = Math.max(err, Math.abs(golden.data()[i] - ours[i]));
            }
            TensorError e = new TensorError(hs.name(), err, scale);
            errors.add(e);
            assertTrue(e.relative() <= relTol, what + " " + hs.name() + ": max |error| " + err + " = "
                    + e.relative() + " × max|value| " + scale + " > " + relTol);
        }
        return errors;
    }
}
