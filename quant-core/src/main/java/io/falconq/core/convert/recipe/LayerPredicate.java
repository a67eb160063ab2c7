package io.falconq.core.convert.recipe;

import io.falconq.formats.gguf.GgmlType;

import java.util.function.Predicate;

/**
 * A named condition of a {@link TypeRule}, mostly on the layer index; the names read like llama-quant.cpp's
 * conditions so a rule can be checked against {@code llama_tensor_get_type_impl} line by line.
 */
public record LayerPredicate(String description, Predicate<RecipeContext> test) {

    public boolean matches(RecipeContext c) {
        return test.test(c);
    }

    @Override
    public String toString() {
        return description;
    }

    public static final LayerPredicate ALWAYS = new LayerPredicate("always", c -> true);

    /**
     * llama.cpp's {@code use_more_bits(i, n)}: the first and last eighth of the layers and every third layer
     * between them, {@code i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2} in integer arithmetic.
     */
    public static final LayerPredicate USE_MORE_BITS = new LayerPredicate("use_more_bits(i, n)",
            c -> useMoreBits(c.layer(), c.layerCount()));

    public static boolean useMoreBits(int i, int n) {
        return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
    }

    /** {@code i < k}. */
    public static LayerPredicate layerBelow(int k) {
        return new LayerPredicate("i < " + k, c -> c.layer() < k);
    }

    /** {@code i < n/d} (integer division, so 0 layers when n < d). */
    public static LayerPredicate layerBelowFraction(int d) {
        return new LayerPredicate("i < n/" + d, c -> c.layer() < c.layerCount() / d);
    }

    /** {@code n_gqa() >= k}. */
    public static LayerPredicate gqaAtLeast(int k) {
        return new LayerPredicate("n_gqa >= " + k, c -> c.gqa() >= k);
    }

    public static final LayerPredicate WITH_IMATRIX = new LayerPredicate("with imatrix", RecipeContext::hasImatrix);

    public static final LayerPredicate WITHOUT_IMATRIX = new LayerPredicate("without imatrix", c -> !c.hasImatrix());

    /** {@code ne[0] % blck_size(type) != 0}. */
    public static LayerPredicate rowNotMultipleOf(GgmlType type) {
        return new LayerPredicate("ne[0] % " + type.blockSize() + " != 0", c -> c.rowLength() % type.blockSize() != 0);
    }

    public LayerPredicate and(LayerPredicate other) {
        return new LayerPredicate(description + " && " + other.description, c -> matches(c) && other.matches(c));
    }
}
