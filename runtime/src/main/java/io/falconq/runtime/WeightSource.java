package io.falconq.runtime;

import io.falconq.formats.tensor.TensorSource;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.calib.LinearRole;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;
import io.falconq.runtime.FalconH1Model.Format;
import io.falconq.runtime.kernel.WeightMatrix;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One stored Falcon-H1 as a model loader reads it: its tensors, named and shaped as its {@link Format} says, and
 * its matrices in the format's encodings. {@link #weights()} assembles the model from them, so the layout (which
 * tensors a layer has, the optional conv bias and SSM norm, A, the tied LM head) is written once for every format.
 */
interface WeightSource {

    FalconH1Config config();

    TensorSource file();

    Format format();

    /** A matrix in one of the format's encodings, in place; its shape is already checked. */
    WeightMatrix encoded(TensorView view);

    /** A linear layer of a decoder layer: by default its stored matrix. */
    default WeightMatrix linear(LinearRole role, int layer) {
        return matrix(role.tensor(), layer);
    }

    default WeightMatrix matrix(TensorRole role, int layer) {
        TensorView v = file().view(format().tensorName(role, layer));
        TensorFloats.checkShape(v, format().shape(role, config()));
        return encoded(v);
    }

    /**
     * A norm, conv or SSM parameter as float32, its shape checked; in a GGUF with unit dimensions aside, as writers
     * differ on keeping them ({@code ssm_a}, {@code ssm_d}, {@code ssm_norm}).
     */
    default float[] floats(TensorRole role, int layer) {
        TensorView v = file().view(format().tensorName(role, layer));
        long[] shape = format().shape(role, config());
        return format() == Format.GGUF ? TensorFloats.readSqueezed(v, shape) : TensorFloats.read(v, shape);
    }

    /** A = −exp(A_log) of {@code layer}'s SSM heads: a checkpoint stores A_log, a GGUF the converter's A. */
    default float[] ssmA(int layer) {
        float[] stored = floats(TensorRole.SSM_A, layer);
        if (format() == Format.GGUF) {
            return stored;
        }
        float[] a = new float[stored.length];
        for (int j = 0; j < a.length; j++) {
            a[j] = -(float) Math.exp(stored[j]);
        }
        return a;
    }

    /** The model over these weights, which then owns {@code file()}. */
    default FalconH1Model model(Multipliers multipliers, Path path, Path tokenizerDir) {
        return new FalconH1Model(config(), weights(), multipliers, format(), path, tokenizerDir, file());
    }

    default FalconH1Weights weights() {
        FalconH1Config c = config();
        WeightMatrix embed = matrix(TensorRole.TOKEN_EMBD, -1);
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            layers.add(LayerWeights.read(this, i));
        }
        float[] finalNorm = floats(TensorRole.OUTPUT_NORM, -1);
        // without tie_word_embeddings the file must hold the LM head: its reader names what is missing and where
        boolean stored = file().find(format().tensorName(TensorRole.OUTPUT, -1)).isPresent();
        WeightMatrix lmHead = stored || !c.tieWordEmbeddings() ? matrix(TensorRole.OUTPUT, -1) : embed;
        return new FalconH1Weights(embed, layers, finalNorm, lmHead);
    }
}
