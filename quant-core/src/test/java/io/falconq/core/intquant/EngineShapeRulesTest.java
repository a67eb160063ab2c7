package io.falconq.core.intquant;

import io.falconq.core.intquant.EngineShapeRules.Engine;
import io.falconq.core.intquant.EngineShapeRules.Linear;
import io.falconq.core.intquant.EngineShapeRules.Violation;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineShapeRulesTest {
    @Test
    void theTinyInProjCannotBeAllocatedByVllm() {
        // falcon-h1-tiny: in_proj out = 2 * d_ssm (384) + 2 * groups (1) * d_state (32) + heads (6) = 838, in = 256
        List<Violation> v = EngineShapeRules.check(new Linear("model.layers.0.mamba.in_proj", 838, 256, 4, 128, false));
        assertEquals(List.of(Engine.VLLM_GPTQ, Engine.VLLM_GPTQ_MARLIN), v.stream().map(Violation::engine).toList());
        assertTrue(v.getFirst().message().contains("allocated out // pack_factor = 104 wide"), v.getFirst().message());
        assertTrue(v.getFirst().message().contains("qzeros 105 wide"), v.getFirst().message());
        assertTrue(v.get(1).message().startsWith("model.layers.0.mamba.in_proj: vLLM gptq_marlin requires "
                + "output_size_per_partition % min_thread_n (64) == 0, found 838 rows"), v.get(1).message());
    }

    @Test
    void realFalconH1InProjsPackButNoneFitsMarlin() {
        for (long out : new long[] {3352, 3608, 6680, 6704, 8736, 9248}) {
            List<Violation> v = EngineShapeRules.check(new Linear("in_proj", out, 1024, 4, 128, false));
            assertEquals(List.of(Engine.VLLM_GPTQ_MARLIN), v.stream().map(Violation::engine).toList(), "out " + out);
        }
    }

    @Test
    void mlpLinearsAndOddGroupsAreNamed() {
        assertEquals(List.of(), EngineShapeRules.check(new Linear("o_proj", 256, 256, 8, 128, false)));
        List<Violation> v = EngineShapeRules.check(new Linear("mlp.down_proj", 256, 768, 4, 96, true));
        // 768 columns divide by 96, 128 and 8: only the group size itself and the MLP rule
        assertEquals(List.of(Engine.VLLM_GPTQ_MARLIN, Engine.VLLM_FALCON_H1),
                v.stream().map(Violation::engine).toList());
    }
}
