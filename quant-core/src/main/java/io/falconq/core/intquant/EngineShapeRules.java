package io.falconq.core.intquant;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Shape rules GPU engines impose on a GPTQ-layout linear ({@code qweight [in/pack, out]}, {@code qzeros
 * [groups, out/pack]}, {@code scales [groups, out]}), as data, so a quantizer can warn about or refuse a tensor an
 * engine cannot allocate, naming the tensor and the rule. Read from vLLM's sources (snapshots in the code index;
 * the quoted conditions are verbatim, line numbers vary between versions):
 * <ul>
 *   <li>{@code vllm/model_executor/layers/quantization/gptq.py}, {@code GPTQLinearMethod.create_weights}: raises
 *       "The output size is not aligned with the quantized weight shape" when
 *       {@code output_size_per_partition % pack_factor != 0} (and the input size likewise against
 *       {@code group_size}); {@code qzeros} is allocated {@code output_size_per_partition // pack_factor} wide, so a
 *       checkpoint with {@code ceil(out/pack)} columns (838 rows, int4: 105) does not fit the 104 it allocates;</li>
 *   <li>{@code vllm/model_executor/layers/quantization/utils/marlin_utils.py}, {@code verify_marlin_supports_shape}:
 *       {@code output_size_per_partition % GPTQ_MARLIN_MIN_THREAD_N (64)}, {@code input_size_per_partition %
 *       GPTQ_MARLIN_MIN_THREAD_K (128)}, and {@code input_size_per_partition % group_size} when grouped;
 *       {@code MARLIN_SUPPORTED_GROUP_SIZES = [-1, 32, 64, 128]};</li>
 *   <li>{@code vllm/model_executor/models/falcon_h1.py}: {@code self.feed_forward = FalconH1MLP(config)} passes no
 *       {@code quant_config}, so quantized MLP weights have no quantized parameters to load into.</li>
 * </ul>
 * Sizes are per tensor-parallel partition: {@code out / tp} for column-parallel, {@code in / tp} for row-parallel
 * linears; {@link #check} takes the partition sizes. Nothing here has been run against vLLM on a GPU.
 */
public final class EngineShapeRules {
    private EngineShapeRules() {
    }

    /** The engine path a rule belongs to. */
    public enum Engine {
        VLLM_GPTQ("vLLM gptq"),
        VLLM_GPTQ_MARLIN("vLLM gptq_marlin"),
        VLLM_FALCON_H1("vLLM falcon_h1.py");

        private final String label;

        Engine(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** One broken rule: which tensor, which engine, what the rule is and what the tensor has. */
    public record Violation(String tensor, Engine engine, String rule, String found) {
        public String message() {
            return tensor + ": " + engine.label() + " requires " + rule + ", found " + found;
        }
    }

    /** A linear as an engine partition sees it. */
    public record Linear(String tensor, long outFeatures, long inFeatures, int bits, int groupSize, boolean mlp) {
    }

    public static final int MARLIN_MIN_THREAD_N = 64;
    public static final int MARLIN_MIN_THREAD_K = 128;
    public static final List<Integer> MARLIN_GROUP_SIZES = List.of(-1, 32, 64, 128);

    /** Every rule {@code linear} breaks, in the order of the class comment; empty when every engine path can load it. */
    public static List<Violation> check(Linear linear) {
        List<Violation> v = new ArrayList<>();
        String t = linear.tensor();
        int pack = 32 / linear.bits();
        long out = linear.outFeatures();
        long in = linear.inFeatures();
        int group = linear.groupSize();
        if (out % pack != 0) {
            v.add(new Violation(t, Engine.VLLM_GPTQ, "output size % pack_factor (" + pack + ") == 0 (qzeros is "
                    + "allocated out // pack_factor = " + out / pack + " wide)", out + " rows, qzeros "
                    + ceilDiv(out, pack) + " wide"));
        }
        if (in % pack != 0) {
            v.add(new Violation(t, Engine.VLLM_GPTQ, "input size % pack_factor (" + pack + ") == 0", in + " columns"));
        }
        if (group > 0 && in % group != 0) {
            v.add(new Violation(t, Engine.VLLM_GPTQ, "input size % group_size (" + group + ") == 0", in + " columns"));
        }
        if (out % MARLIN_MIN_THREAD_N != 0) {
            v.add(new Violation(t, Engine.VLLM_GPTQ_MARLIN, "output_size_per_partition % min_thread_n ("
                    + MARLIN_MIN_THREAD_N + ") == 0", out + " rows"));
        }
        if (in % MARLIN_MIN_THREAD_K != 0) {
            v.add(new Violation(t, Engine.VLLM_GPTQ_MARLIN, "input_size_per_partition % min_thread_k ("
                    + MARLIN_MIN_THREAD_K + ") == 0", in + " columns"));
        }
        if (!MARLIN_GROUP_SIZES.contains(group)) {
            v.add(new Violation(t, Engine.VLLM_GPTQ_MARLIN, "group_size in " + MARLIN_GROUP_SIZES, "group_size " + group));
        }
        if (linear.mlp()) {
            v.add(new Violation(t, Engine.VLLM_FALCON_H1, "an unquantized MLP (FalconH1MLP(config) gets no "
                    + "quant_config): leave the MLP unquantized", "a quantized MLP linear"));
        }
        return v;
    }

    /** All violations of all linears, one line each, for a warning or an exit-3 refusal. */
    public static String report(List<Violation> violations) {
        StringBuilder s = new StringBuilder();
        for (Violation v : violations) {
            s.append(String.format(Locale.ROOT, "%s%n", v.message()));
        }
        return s.toString();
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
