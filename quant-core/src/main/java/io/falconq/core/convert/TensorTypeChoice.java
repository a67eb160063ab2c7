package io.falconq.core.convert;

import io.falconq.core.convert.recipe.FallbackChain;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.core.convert.recipe.RecipeContext;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.model.TensorRole;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One tensor's written type as {@link ConversionPlanner} decides it: the recipe's rule or the allocation's per-tensor
 * override, through the {@link FallbackChain}, with the imatrix entry it is quantized with.
 *
 * @param resolution null for a tensor llama.cpp never quantizes
 * @param importance per-column importance, or null
 */
record TensorTypeChoice(GgmlType type, FallbackChain.Resolution resolution, float[] importance) {

    /**
     * @param storedAs the type written for a tensor the recipe never quantizes (the converter writes F32,
     *                 llama-quantize copies the stored type)
     * @param notes    receives fallbacks and missing imatrix entries
     */
    static TensorTypeChoice choose(RecipeContext ctx, String target, GgmlType storedAs, ConversionOptions options,
                                   List<String> notes) {
        QuantRecipe recipe = options.recipe();
        GgmlType override = options.typeOverrides().get(target);
        if (override != null && !(recipe.isQuantized() && ctx.role().quantizable())) {
            throw new InvalidInputException(target + ": a per-tensor type (" + override + ") needs a quantizable tensor "
                    + "and a quantized file type; llama-quantize ignores it for " + recipe.name());
        }
        FallbackChain.Resolution r = override != null ? FallbackChain.resolve(override, ctx.rowLength(), target)
                : recipe.chooseType(ctx, target);
        if (r == null) {
            return new TensorTypeChoice(storedAs, null, null);
        }
        if (r.isFallback()) {
            notes.add(target + ": " + r.reason() + " -> falling back to " + r.type());
        }
        float[] importance = null;
        if (options.imatrix() != null && r.type().isQuantized()) {
            importance = importance(options.imatrix(), ctx, target, notes);
        }
        if (importance == null && recipe.requiresImatrix(ctx.role(), r.type())) {
            throw new InvalidInputException(target + ": type " + r.type() + " in a " + recipe.name()
                    + " file requires an importance matrix (--imatrix)");
        }
        return new TensorTypeChoice(r.type(), r, importance);
    }

    private static float[] importance(ImatrixFile imatrix, RecipeContext ctx, String target, List<String> notes) {
        Optional<float[]> imp = imatrix.importance(target);
        if (imp.isEmpty()) {
            notes.add(target + ": no imatrix entry; quantized without importance");
            return null;
        }
        if (imp.get().length != ctx.rowLength()) {
            // llama-quantize aborts on a size mismatch, except for the token embedding, which only warns
            String msg = "imatrix entry for " + target + " has " + imp.get().length + " values, the tensor has "
                    + ctx.rowLength() + " columns";
            if (ctx.role() != TensorRole.TOKEN_EMBD) {
                throw new InvalidInputException(imatrix.path() + ": " + msg);
            }
            notes.add(msg + "; ignored for the token embedding");
            return null;
        }
        for (float v : imp.get()) {
            if (!(v >= 0) || v == Float.POSITIVE_INFINITY) {
                throw new InvalidInputException(imatrix.path() + ": imatrix for " + target
                        + " contains " + v + " (expected finite sums of squares, at least 0)");
            }
        }
        return imp.get();
    }

    /**
     * Refuses options that name another model: an importance matrix none of whose entries names a tensor of the
     * model, or a per-tensor type for a name the model does not have (another model's allocation).
     */
    static void checkOptionsNameThisModel(ConversionOptions options, List<PlannedTensor> tensors) {
        ImatrixFile im = options.imatrix();
        if (im != null && tensors.stream().noneMatch(t -> im.entries().containsKey(t.targetName()))) {
            throw new InvalidInputException(im.path() + ": none of its " + im.entries().size() + " entries names a "
                    + "tensor of this model (an importance matrix of another model?)");
        }
        Set<String> names = new HashSet<>(options.typeOverrides().keySet());
        tensors.forEach(t -> names.remove(t.targetName()));
        if (!names.isEmpty()) {
            throw new InvalidInputException("per-tensor types name tensors this model does not have: "
                    + names.stream().sorted().limit(5).toList() + (names.size() > 5 ? " …" : ""));
        }
    }
}
