package io.falconq.core.convert.recipe;

import io.falconq.formats.gguf.GgmlType;

import java.util.Map;

/**
 * What llama-quantize does when a tensor's rows are not a whole number of blocks of the chosen type
 * ({@code tensor_type_fallback}, llama-quant.cpp; GGUF-NOTES.md §6.2): 256-element IQ types → IQ4_NL; Q2_K, Q3_K
 * and the ternary types → Q4_0; Q4_K → Q5_0; Q5_K → Q5_1; Q6_K → Q8_0; and if the replacement's 32-element blocks
 * still do not divide the row, F16. A type without an entry cannot fall back and is an error.
 */
public final class FallbackChain {
    /** A chosen type and, when it replaced another, the original and the reason. */
    public record Resolution(GgmlType type, GgmlType requested, String reason) {
        public boolean isFallback() {
            return requested != null;
        }
    }

    private static final Map<GgmlType, GgmlType> NEXT = Map.ofEntries(
            Map.entry(GgmlType.IQ1_S, GgmlType.IQ4_NL),
            Map.entry(GgmlType.IQ1_M, GgmlType.IQ4_NL),
            Map.entry(GgmlType.IQ2_XXS, GgmlType.IQ4_NL),
            Map.entry(GgmlType.IQ2_XS, GgmlType.IQ4_NL),
            Map.entry(GgmlType.IQ2_S, GgmlType.IQ4_NL),
            Map.entry(GgmlType.IQ3_XXS, GgmlType.IQ4_NL),
            Map.entry(GgmlType.IQ3_S, GgmlType.IQ4_NL),
            Map.entry(GgmlType.IQ4_XS, GgmlType.IQ4_NL),
            Map.entry(GgmlType.Q2_0, GgmlType.Q4_0),
            Map.entry(GgmlType.Q2_K, GgmlType.Q4_0),
            Map.entry(GgmlType.Q3_K, GgmlType.Q4_0),
            Map.entry(GgmlType.TQ1_0, GgmlType.Q4_0),
            Map.entry(GgmlType.TQ2_0, GgmlType.Q4_0),
            Map.entry(GgmlType.Q4_K, GgmlType.Q5_0),
            Map.entry(GgmlType.Q5_K, GgmlType.Q5_1),
            Map.entry(GgmlType.Q6_K, GgmlType.Q8_0));

    private FallbackChain() {
    }

    /** The type a row of {@code rowLength} elements can actually use when {@code chosen} was asked for. */
    public static Resolution resolve(GgmlType chosen, long rowLength, String tensorName) {
        if (rowLength % chosen.blockSize() == 0) {
            return new Resolution(chosen, null, null);
        }
        GgmlType next = NEXT.get(chosen);
        if (next == null) {
            throw new IllegalArgumentException(tensorName + ": rows of " + rowLength + " are not a multiple of "
                    + chosen + "'s block size " + chosen.blockSize() + " and no fallback is defined for " + chosen);
        }
        String reason = "ncols " + rowLength + " not divisible by " + chosen.blockSize() + " (required for " + chosen + ")";
        if (rowLength % next.blockSize() != 0) {
            return new Resolution(GgmlType.F16, chosen, reason + "; not divisible by " + next.blockSize()
                    + " either, so F16");
        }
        return new Resolution(next, chosen, reason);
    }
}
