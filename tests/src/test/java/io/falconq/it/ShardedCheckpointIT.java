package io.falconq.it;

import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.LayerWeights;
import io.falconq.runtime.kernel.WeightMatrix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The same tiny weights stored as two shards plus {@code model.safetensors.index.json}: every tensor must load
 * bit-identically to the single file, and the golden logits and hidden states must hold with the tolerances of
 * {@link TinyModelGoldenIT}. Perplexity is not re-run: identical weights through the same deterministic forward
 * pass give bit-identical logits at every position (checked on the 300-token prompt), hence the identical perplexity.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShardedCheckpointIT {
    private FalconH1Model sharded;
    private FalconH1Model single;
    private FalconH1Forward forward;

    @BeforeAll
    void load() {
        sharded = FalconH1Model.load(CliRun.shared("models/falcon-h1-tiny-sharded"));
        single = FalconH1Model.load(CliRun.shared("models/falcon-h1-tiny"));
        forward = new FalconH1Forward(sharded, 2);
    }

    @AfterAll
    void close() {
        forward.close();
        sharded.close();
        single.close();
    }

    private static void assertSameRows(WeightMatrix a, WeightMatrix b) {
        assertEquals(a.rows(), b.rows(), a.name());
        assertEquals(a.cols(), b.cols(), a.name());
        assertEquals(a.type(), b.type(), a.name());
        float[] ra = new float[a.cols()];
        float[] rb = new float[b.cols()];
        for (int r = 0; r < a.rows(); r++) {
            a.decodeRow(r, ra, 0);
            b.decodeRow(r, rb, 0);
            assertArrayEquals(ra, rb, a.name() + " row " + r);
        }
    }

    @Test
    void everyTensorLoadsBitIdenticallyToTheSingleFile() {
        assertEquals(single.config().parameterCounts(), sharded.config().parameterCounts());
        assertEquals(single.multipliers().embedding(), sharded.multipliers().embedding());
        assertArrayEquals(single.multipliers().ssm(), sharded.multipliers().ssm());
        assertArrayEquals(single.multipliers().mlp(), sharded.multipliers().mlp());
        assertSameRows(single.weights().embeddings(), sharded.weights().embeddings());
        assertSameRows(single.weights().lmHead(), sharded.weights().lmHead());
        assertArrayEquals(single.weights().finalNorm(), sharded.weights().finalNorm());
        List<LayerWeights> a = single.weights().layers();
        List<LayerWeights> b = sharded.weights().layers();
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            LayerWeights x = a.get(i);
            LayerWeights y = b.get(i);
            for (WeightMatrix[] pair : new WeightMatrix[][] {{x.q(), y.q()}, {x.k(), y.k()}, {x.v(), y.v()},
                    {x.o(), y.o()}, {x.ssmIn(), y.ssmIn()}, {x.ssmOut(), y.ssmOut()}, {x.gate(), y.gate()},
                    {x.up(), y.up()}, {x.down(), y.down()}}) {
                assertSameRows(pair[0], pair[1]);
            }
            assertArrayEquals(x.inputNorm(), y.inputNorm());
            assertArrayEquals(x.preFfNorm(), y.preFfNorm());
            assertArrayEquals(x.convWeight(), y.convWeight());
            assertArrayEquals(x.convBias(), y.convBias());
            assertArrayEquals(x.dtBias(), y.dtBias());
            assertArrayEquals(x.a(), y.a());
            assertArrayEquals(x.d(), y.d());
            assertArrayEquals(x.ssmNorm(), y.ssmNorm());
        }
    }

    @Test
    void logitsAndTop5MatchGolden() {
        double worst = GoldenChecks.assertLogitsMatch(forward, TinyModelGoldenIT.LOGIT_REL_TOL, "sharded");
        System.out.printf("ShardedCheckpointIT: worst last-logit error %.3g of the range%n", worst);
    }

    @Test
    void everyHiddenStateMatchesGolden() {
        GoldenChecks.assertHiddenStatesMatch(forward, TinyModelGoldenIT.HIDDEN_REL_TOL, "sharded");
    }

    @Test
    void allPositionLogitsAreBitIdenticalToTheSingleFile() {
        int[] ids = GoldenData.prompts().get(1).ids();
        try (FalconH1Forward f = new FalconH1Forward(single, 2)) {
            assertArrayEquals(GoldenChecks.windowLogits(f, ids), GoldenChecks.windowLogits(forward, ids));
        }
    }
}
