package io.falconq.core.convert;

import io.falconq.core.convert.recipe.FallbackChain;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.imatrix.ImatrixFile;

import java.util.Map;

/**
 * What a GGUF conversion is asked to make: the input of {@link ConversionPlanner}.
 *
 * @param recipe        target type or mix
 * @param imatrix       importance matrix, or null
 * @param imatrixLabel  the imatrix path as the user gave it, recorded in {@code quantize.imatrix.file} (llama-quantize
 *                      records its argument verbatim)
 * @param modelName     {@code general.name} for conversions from HF (the converter uses the model folder's name)
 * @param typeOverrides per-tensor types (GGUF names) that replace the recipe's mix rule, as llama-quantize's
 *                      {@code --tensor-type}: only for quantizable tensors of a quantized recipe, and still subject
 *                      to the {@link FallbackChain}; empty for a stock mix
 * @param extraKeys     metadata appended after {@code general.file_type} and before the imatrix keys, where
 *                      llama-quantize puts its {@code --override-kv} keys; empty for none
 */
public record ConversionOptions(QuantRecipe recipe, ImatrixFile imatrix, String imatrixLabel, String modelName,
                                Map<String, GgmlType> typeOverrides, GgufMetadata extraKeys) {
    public ConversionOptions {
        typeOverrides = Map.copyOf(typeOverrides);
        extraKeys = extraKeys.copy();
    }

    public ConversionOptions(QuantRecipe recipe, ImatrixFile imatrix, String imatrixLabel, String modelName) {
        this(recipe, imatrix, imatrixLabel, modelName, Map.of(), new GgufMetadata());
    }

    public static ConversionOptions of(QuantRecipe recipe) {
        return new ConversionOptions(recipe, null, null, null);
    }

    /** The same options with another recipe. */
    public ConversionOptions withRecipe(QuantRecipe other) {
        return new ConversionOptions(other, imatrix, imatrixLabel, modelName, typeOverrides, extraKeys);
    }

    /** The same options with per-tensor types and extra metadata (an allocation). */
    public ConversionOptions withOverrides(Map<String, GgmlType> types, GgufMetadata keys) {
        return new ConversionOptions(recipe, imatrix, imatrixLabel, modelName, types, keys);
    }
}
