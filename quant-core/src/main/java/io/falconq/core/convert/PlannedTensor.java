package io.falconq.core.convert;

import io.falconq.core.convert.recipe.FallbackChain;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufWriter;
import io.falconq.core.model.MupFolding;
import io.falconq.core.model.TensorRole;
import io.falconq.formats.tensor.Shapes;

import java.util.Arrays;

/**
 * One output tensor of a conversion, fully decided before any data is read.
 *
 * @param role        what the tensor is
 * @param layer       its layer, -1 for global tensors
 * @param sourceName  the tensor read from the source (HF or GGUF name)
 * @param sourceType  its stored type (BF16, F16 or F32)
 * @param targetName  the GGUF name written
 * @param type        the GGUF type written
 * @param ne          GGUF dimensions as written, innermost first (the rank is part of the layout: the converter writes
 *                    numpy's rank, llama-quantize {@code ggml_n_dims})
 * @param bytes       the data size
 * @param folding     µP factors applied to the rows (identity when converting from a GGUF)
 * @param transform   element-wise transform applied after upcasting (NONE when converting from a GGUF)
 * @param fallback    set when the recipe's type did not fit the row length and the {@link FallbackChain} replaced it
 * @param importance  per-column importance from an imatrix, or null
 */
public record PlannedTensor(TensorRole role, int layer, String sourceName, GgmlType sourceType, String targetName,
                            GgmlType type, long[] ne, long bytes, MupFolding folding, TensorRole.Transform transform,
                            FallbackChain.Resolution fallback, float[] importance) {
    public PlannedTensor {
        ne = ne.clone();
    }

    @Override
    public long[] ne() {
        return ne.clone();
    }

    public long rowLength() {
        return ne[0];
    }

    public long elementCount() {
        return Shapes.elementCount(ne);
    }

    public long rowCount() {
        return ne[0] == 0 ? 0 : elementCount() / ne[0];
    }

    public double bitsPerWeight() {
        return elementCount() == 0 ? 0 : 8.0 * bytes / elementCount();
    }

    public GgufWriter.PlannedTensor forWriter() {
        return new GgufWriter.PlannedTensor(targetName, type, ne);
    }

    @Override
    public String toString() {
        return targetName + " " + type + " ne=" + Arrays.toString(ne) + " <- " + sourceName + " " + sourceType
                + (fallback != null && fallback.isFallback() ? " (fallback from " + fallback.requested() + ")" : "")
                + (importance != null ? " (imatrix)" : "");
    }
}
