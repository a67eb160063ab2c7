package io.falconq.core.convert.recipe;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.model.TensorRole;

import java.util.Set;

/** "Tensors of these roles, when {@code when} holds, get {@code type}" — one line of a {@link QuantRecipe}. */
public record TypeRule(Set<TensorRole> roles, LayerPredicate when, GgmlType type) {
    public TypeRule {
        roles = Set.copyOf(roles);
    }

    public static TypeRule of(TensorRole role, LayerPredicate when, GgmlType type) {
        return new TypeRule(Set.of(role), when, type);
    }

    public static TypeRule of(TensorRole role, GgmlType type) {
        return new TypeRule(Set.of(role), LayerPredicate.ALWAYS, type);
    }

    public boolean matches(TensorRole role, RecipeContext c) {
        return roles.contains(role) && when.matches(c);
    }

    @Override
    public String toString() {
        return roles + " if " + when + " -> " + type;
    }
}
