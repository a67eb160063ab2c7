package io.falconq.jobs.intquant;

import io.falconq.core.calib.LinearRole;
import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.core.model.TensorRole;
import io.falconq.runtime.LayerWeights;
import io.falconq.runtime.kernel.DenseWeightMatrix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AWQ on one layer of the tiny checkpoint, through the runtime's forward pass. */
class AwqLayerMethodTest {
    private static final IntQuantScheme W4 = IntQuantScheme.w4(128);
    private static final int LAYER = 1;
    private static AwqTinyModel tiny;

    @BeforeAll
    static void load() {
        tiny = new AwqTinyModel();
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    @Test
    void searchedScalesGiveALowerLayerOutputErrorThanRoundToNearestOnHeldOutText(@TempDir Path dir)
            throws IOException {
        float[][] calib = tiny.inputs(tiny.windows("corpus/calib.txt", 16, 512), LAYER);
        LayerWork awq = tiny.work(LAYER, calib, W4, dir.resolve("awq"));
        AwqLayerMethod.quantize(awq, AwqLoss.NORMED_OUTPUT);
        LayerWork rtn = tiny.work(LAYER, calib, W4, dir.resolve("rtn"));
        AwqTinyModel.roundToNearest(rtn);

        // valid.txt was not seen by the search: the layer's output error there, against the float layer
        float[][] heldOut = tiny.inputs(tiny.windows("corpus/valid.txt", 8, 512), LAYER);
        double awqError = outputError(awq.weights(), heldOut);
        double rtnError = outputError(rtn.weights(), heldOut);
        // measured 0.805 of RTN's error (581 vs 722, also with the mixer-output loss of issue 14); 0.9 leaves
        // room for float-summation differences only
        assertTrue(awqError < 0.9 * rtnError, "AWQ " + awqError + " vs RTN " + rtnError);
    }

    @Test
    void everyLinearIsQuantizedAndEveryFoldedNormReplaced(@TempDir Path dir) throws IOException {
        LayerWork work = tiny.work(LAYER, tiny.inputs(tiny.windows("corpus/calib.txt", 2, 256), LAYER), W4, dir);
        AwqLayerMethod.quantize(work, AwqLoss.LAYER_OUTPUT);
        assertEquals(java.util.Arrays.stream(LinearRole.perLayer()).map(r -> r.hfModulePath(LAYER) + ".qweight")
                        .collect(java.util.stream.Collectors.toSet()),
                work.packed().stream().map(t -> t.tensor().name()).filter(n -> n.endsWith(".qweight"))
                        .collect(java.util.stream.Collectors.toSet()));
        assertEquals(Set.of(TensorRole.ATTN_NORM, TensorRole.SSM_NORM, TensorRole.FFN_NORM),
                work.replacedNorms().keySet());
    }

    @Test
    void foldsLeaveTheFloatLayerUnchanged(@TempDir Path dir) throws IOException {
        float[][] inputs = tiny.inputs(tiny.windows("corpus/valid.txt", 2, 256), LAYER);
        LayerWork work = tiny.work(LAYER, inputs, W4, dir);
        int h = tiny.config.hiddenSize();
        float[] attn = AwqFolds.divideNorm(work, TensorRole.ATTN_NORM, scales(h));
        for (LinearRole r : new LinearRole[] {LinearRole.ATTN_Q, LinearRole.ATTN_K, LinearRole.ATTN_V,
                LinearRole.SSM_IN}) {
            AwqFolds.scaleColumns(work.linear(r), h, attn);
        }
        float[] o = scales(tiny.config.qSize());
        int[] ties = AwqFolds.oProjTies(tiny.config);
        for (int j = 0; j < o.length; j++) {
            o[j] = o[ties[j]]; // constant on each class: the columns one v_proj row feeds share a scale
        }
        AwqFolds.scaleColumns(work.linear(LinearRole.ATTN_OUTPUT), tiny.config.qSize(), o);
        AwqFolds.divideRows(work.linear(LinearRole.ATTN_V), h, AwqFolds.vRowScale(tiny.config, o));
        int di = tiny.config.ssmInnerSize();
        AwqFolds.scaleColumns(work.linear(LinearRole.SSM_OUT), di, AwqFolds.divideNorm(work, TensorRole.SSM_NORM,
                scales(di)));
        float[] ff = AwqFolds.divideNorm(work, TensorRole.FFN_NORM, scales(h));
        AwqFolds.scaleColumns(work.linear(LinearRole.FFN_GATE), h, ff);
        AwqFolds.scaleColumns(work.linear(LinearRole.FFN_UP), h, ff);
        int f = tiny.config.intermediateSize();
        float[] down = scales(f);
        AwqFolds.scaleColumns(work.linear(LinearRole.FFN_DOWN), f, down);
        AwqFolds.divideRows(work.linear(LinearRole.FFN_UP), h, down);

        LayerWeights folded = work.weights();
        for (LinearRole r : LinearRole.perLayer()) {
            int in = folded.linear(r).cols();
            folded = folded.with(r, DenseWeightMatrix.ofFloats(r.hfModulePath(LAYER), work.linear(r).length / in, in,
                    work.linear(r)));
        }
        float[][] expected = copy(inputs);
        tiny.run(LAYER, tiny.model.weights().layers().get(LAYER), expected);
        float[][] actual = copy(inputs);
        tiny.run(LAYER, folded, actual);
        // float32 rounding of the scaled products only (the norms' bf16 rounding is compensated by s_eff): the
        // worst difference stays within 1e-4 of the largest output
        for (int s = 0; s < inputs.length; s++) {
            double max = 0;
            double worst = 0;
            for (int i = 0; i < expected[s].length; i++) {
                max = Math.max(max, Math.abs(expected[s][i]));
                worst = Math.max(worst, Math.abs(expected[s][i] - actual[s][i]));
            }
            assertTrue(worst <= 1e-4 * max, "worst " + worst + " of " + max);
        }
    }

    /** Deterministic scales spread over [0.25, 4]. */
    private static float[] scales(int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = (float) Math.pow(2, ((i * 37) % 17) / 4.0 - 2);
        }
        return s;
    }

    private static float[][] copy(float[][] a) {
        float[][] c = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i].clone();
        }
        return c;
    }

    private static double outputError(LayerWeights w, float[][] inputs) {
        float[][] expected = copy(inputs);
        tiny.run(LAYER, tiny.model.weights().layers().get(LAYER), expected);
        float[][] actual = copy(inputs);
        tiny.run(LAYER, w, actual);
        double e = 0;
        for (int s = 0; s < inputs.length; s++) {
            e += AwqLoss.NORMED_OUTPUT.error(expected[s], actual[s], expected[s].length / tiny.config.hiddenSize(),
                    tiny.config.hiddenSize());
        }
        return e;
    }
}
