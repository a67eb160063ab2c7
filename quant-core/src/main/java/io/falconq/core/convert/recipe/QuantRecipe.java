package io.falconq.core.convert.recipe;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.model.TensorRole;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.falconq.core.convert.recipe.LayerPredicate.ALWAYS;
import static io.falconq.core.convert.recipe.LayerPredicate.USE_MORE_BITS;
import static io.falconq.core.convert.recipe.LayerPredicate.WITHOUT_IMATRIX;
import static io.falconq.core.convert.recipe.LayerPredicate.WITH_IMATRIX;
import static io.falconq.core.convert.recipe.LayerPredicate.gqaAtLeast;
import static io.falconq.core.convert.recipe.LayerPredicate.layerBelow;
import static io.falconq.core.convert.recipe.LayerPredicate.layerBelowFraction;
import static io.falconq.core.convert.recipe.LayerPredicate.rowNotMultipleOf;
import static io.falconq.core.model.TensorRole.ATTN_OUT;
import static io.falconq.core.model.TensorRole.ATTN_V;
import static io.falconq.core.model.TensorRole.FFN_DOWN;
import static io.falconq.core.model.TensorRole.OUTPUT;

/**
 * One of llama-quantize's file types ({@code llama_ftype}) as data: a base type and the rules that move some tensors
 * to other types, transcribed from {@code llama_tensor_get_type_impl} (llama-quant.cpp; GGUF-NOTES.md §6.2) for the
 * branches that can apply to Falcon-H1 (not {@code LLM_ARCH_FALCON}, no experts, not a 70B Llama). Rules are tried in
 * order and the first that matches wins; tensors no rule matches get the base type. After that the
 * {@link FallbackChain} repairs row lengths that are not a block multiple, for quantized base types only.
 *
 * <p>Tensors whose role is {@link TensorRole.Storage#KEEP_F32} are never quantized. With an unquantized base type
 * (F32, F16, BF16) every quantizable tensor simply takes the base type, as in llama-quantize.
 *
 * @param name   the name llama-quantize accepts, e.g. {@code Q4_K_M}
 * @param ftype  the {@code llama_ftype} value written to {@code general.file_type}
 * @param base   {@code llama_ftype_get_default_type}
 * @param rules  the mix, or empty for a pure recipe
 */
public record QuantRecipe(String name, int ftype, GgmlType base, List<TypeRule> rules) {
    public QuantRecipe {
        rules = List.copyOf(rules);
    }

    // ---- the named mixes (llama_ftype values from include/llama.h, GGUF-NOTES.md §1.5) ----------------------------

    public static final QuantRecipe F32 = new QuantRecipe("F32", 0, GgmlType.F32, List.of());
    public static final QuantRecipe F16 = new QuantRecipe("F16", 1, GgmlType.F16, List.of());
    public static final QuantRecipe BF16 = new QuantRecipe("BF16", 32, GgmlType.BF16, List.of());
    public static final QuantRecipe Q8_0 = mix("Q8_0", 7, GgmlType.Q8_0);
    public static final QuantRecipe Q4_0 = mix("Q4_0", 2, GgmlType.Q4_0,
            // "guard against craziness in the first few ffn_down layers", only with an imatrix
            TypeRule.of(FFN_DOWN, WITH_IMATRIX.and(layerBelowFraction(8)), GgmlType.Q4_1));
    public static final QuantRecipe Q4_1 = mix("Q4_1", 3, GgmlType.Q4_1);
    public static final QuantRecipe Q5_0 = mix("Q5_0", 8, GgmlType.Q5_0,
            TypeRule.of(FFN_DOWN, WITH_IMATRIX.and(layerBelowFraction(8)), GgmlType.Q5_1));
    public static final QuantRecipe Q5_1 = mix("Q5_1", 9, GgmlType.Q5_1);
    public static final QuantRecipe Q2_K = mix("Q2_K", 10, GgmlType.Q2_K,
            TypeRule.of(ATTN_V, gqaAtLeast(4), GgmlType.Q4_K),
            TypeRule.of(ATTN_V, GgmlType.Q3_K),
            TypeRule.of(FFN_DOWN, GgmlType.Q3_K),
            TypeRule.of(ATTN_OUT, GgmlType.Q3_K));
    public static final QuantRecipe Q3_K_S = mix("Q3_K_S", 11, GgmlType.Q3_K);
    public static final QuantRecipe Q3_K_M = mix("Q3_K_M", 12, GgmlType.Q3_K,
            TypeRule.of(ATTN_V, layerBelow(2), GgmlType.Q5_K),
            TypeRule.of(ATTN_V, GgmlType.Q4_K),
            TypeRule.of(FFN_DOWN, layerBelowFraction(16), GgmlType.Q5_K),
            TypeRule.of(FFN_DOWN, GgmlType.Q4_K),
            TypeRule.of(ATTN_OUT, GgmlType.Q4_K));
    public static final QuantRecipe Q3_K_L = mix("Q3_K_L", 13, GgmlType.Q3_K,
            TypeRule.of(ATTN_V, GgmlType.Q5_K),
            TypeRule.of(FFN_DOWN, GgmlType.Q5_K),
            TypeRule.of(ATTN_OUT, GgmlType.Q5_K));
    public static final QuantRecipe Q4_K_S = mix("Q4_K_S", 14, GgmlType.Q4_K,
            TypeRule.of(ATTN_V, layerBelow(4), GgmlType.Q5_K),
            TypeRule.of(FFN_DOWN, layerBelowFraction(8), GgmlType.Q5_K));
    public static final QuantRecipe Q4_K_M = mix("Q4_K_M", 15, GgmlType.Q4_K,
            TypeRule.of(ATTN_V, USE_MORE_BITS, GgmlType.Q6_K),
            TypeRule.of(FFN_DOWN, USE_MORE_BITS, GgmlType.Q6_K));
    public static final QuantRecipe Q5_K_S = mix("Q5_K_S", 16, GgmlType.Q5_K);
    public static final QuantRecipe Q5_K_M = mix("Q5_K_M", 17, GgmlType.Q5_K,
            TypeRule.of(ATTN_V, USE_MORE_BITS, GgmlType.Q6_K),
            TypeRule.of(FFN_DOWN, USE_MORE_BITS, GgmlType.Q6_K));
    public static final QuantRecipe Q6_K = mix("Q6_K", 18, GgmlType.Q6_K);
    public static final QuantRecipe IQ4_NL = mix("IQ4_NL", 25, GgmlType.IQ4_NL,
            TypeRule.of(ATTN_V, gqaAtLeast(4), GgmlType.Q5_K),
            TypeRule.of(FFN_DOWN, layerBelowFraction(8).and(WITHOUT_IMATRIX), GgmlType.Q5_K));
    public static final QuantRecipe IQ4_XS = mix("IQ4_XS", 30, GgmlType.IQ4_XS,
            TypeRule.of(ATTN_V, gqaAtLeast(4), GgmlType.Q5_K),
            TypeRule.of(FFN_DOWN, layerBelowFraction(8).and(WITHOUT_IMATRIX), GgmlType.Q5_K));

    private static final Map<String, QuantRecipe> BY_NAME = byName(
            F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M,
            Q6_K, IQ4_NL, IQ4_XS);

    /** llama-quantize's aliases ({@code QUANT_OPTIONS} in tools/quantize/quantize.cpp). */
    private static final Map<String, String> ALIASES = Map.of("Q3_K", "Q3_K_M", "Q4_K", "Q4_K_M", "Q5_K", "Q5_K_M");

    /**
     * Every mix starts with llama.cpp's output-tensor rule: Q8_0 when the rows are not a multiple of the base type's
     * block, otherwise Q6_K — unless the base type is Q8_0, which the output keeps.
     */
    private static QuantRecipe mix(String name, int ftype, GgmlType base, TypeRule... specific) {
        List<TypeRule> rules = new ArrayList<>();
        rules.add(TypeRule.of(OUTPUT, rowNotMultipleOf(base), GgmlType.Q8_0));
        rules.add(TypeRule.of(OUTPUT, ALWAYS, base == GgmlType.Q8_0 ? GgmlType.Q8_0 : GgmlType.Q6_K));
        rules.addAll(List.of(specific));
        return new QuantRecipe(name, ftype, base, rules);
    }

    private static Map<String, QuantRecipe> byName(QuantRecipe... recipes) {
        Map<String, QuantRecipe> m = new LinkedHashMap<>();
        for (QuantRecipe r : recipes) {
            m.put(r.name, r);
        }
        return m;
    }

    /** All named recipes, in llama-quantize's order of increasing size within each family. */
    public static List<QuantRecipe> all() {
        return List.copyOf(BY_NAME.values());
    }

    /** A recipe by name (case-insensitive; Q3_K, Q4_K and Q5_K are aliases of the _M mixes, as in llama-quantize). */
    public static QuantRecipe named(String name) {
        String key = name.toUpperCase(Locale.ROOT);
        QuantRecipe r = BY_NAME.get(ALIASES.getOrDefault(key, key));
        if (r == null) {
            throw new InvalidInputException("unknown type \"" + name + "\"; expected one of " + String.join(", ", BY_NAME.keySet())
                    + " (or Q3_K, Q4_K, Q5_K)");
        }
        return r;
    }

    /** This recipe without its mix: every quantizable tensor gets the base type (llama-quantize {@code --pure}). */
    public QuantRecipe pure() {
        return new QuantRecipe(name, ftype, base, List.of());
    }

    public boolean isQuantized() {
        return base.isQuantized();
    }

    /**
     * The type for one tensor, before shape fallbacks: {@code null} for tensors that are never quantized (the caller
     * keeps their stored type).
     */
    public GgmlType ruleType(RecipeContext c) {
        if (!c.role().quantizable()) {
            return null;
        }
        if (!base.isQuantized()) {
            return base;
        }
        // a model without output.weight reuses the token embedding as output, and llama.cpp gives it the output's type
        TensorRole asRole = c.role() == TensorRole.TOKEN_EMBD && !c.hasOutputTensor() ? OUTPUT : c.role();
        for (TypeRule rule : rules) {
            if (rule.matches(asRole, c)) {
                return rule.type();
            }
        }
        return base;
    }

    /** The final type for one tensor: {@link #ruleType} then the {@link FallbackChain} (quantized base types only). */
    public FallbackChain.Resolution chooseType(RecipeContext c, String tensorName) {
        GgmlType t = ruleType(c);
        if (t == null) {
            return null;
        }
        if (!base.isQuantized()) {
            return new FallbackChain.Resolution(t, null, null);
        }
        return FallbackChain.resolve(t, c.rowLength(), tensorName);
    }

    /**
     * Whether llama-quantize refuses the type without an imatrix ({@code tensor_requires_imatrix}, GGUF-NOTES.md
     * §6.3): the 1–3-bit IQ types, and Q2_K inside a Q2_K_S file; token_embd and output are exempt.
     */
    public boolean requiresImatrix(TensorRole role, GgmlType type) {
        if (role == TensorRole.TOKEN_EMBD || role == OUTPUT) {
            return false;
        }
        return switch (type) {
            case IQ3_XXS, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_M, IQ1_S -> true;
            case Q2_K -> ftype == 21;
            default -> false;
        };
    }

    @Override
    public String toString() {
        return name;
    }
}
