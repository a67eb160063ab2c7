package io.falconq.runtime;

import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.calib.LinearRole;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;
import io.falconq.runtime.kernel.DenseWeightMatrix;
import io.falconq.runtime.kernel.GptqWeightMatrix;
import io.falconq.runtime.kernel.WeightMatrix;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds a {@link FalconH1Model} from a Hugging Face checkpoint (SPEC.md §1.2 names and shapes). Weights are used
 * as stored; the forward pass applies the config's µP multipliers to activations, as transformers does.
 */
final class HfModelLoader {
    private HfModelLoader() {
    }

    static FalconH1Model load(Path path) {
        HfCheckpoint ckpt = HfCheckpoint.open(path);
        try {
            if (ckpt.configJson() == null) {
                throw new InvalidInputException(ckpt.dir() + ": no config.json beside the weights");
            }
            FalconH1Config cfg = FalconH1Config.parse(ckpt.configJson(), ckpt.dir().resolve("config.json").toString());
            cfg.requireNoProjectionBiases(ckpt.dir());
            FalconH1Weights weights = readWeights(ckpt, cfg);
            Path tokDir = Files.isRegularFile(ckpt.dir().resolve("tokenizer.json")) ? ckpt.dir() : null;
            return new FalconH1Model(cfg, weights, Multipliers.of(cfg), FalconH1Model.Format.HF_SAFETENSORS,
                    path, tokDir, ckpt);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    private static FalconH1Weights readWeights(HfCheckpoint src, FalconH1Config c) {
        WeightMatrix embed = matrix(src, c, TensorRole.TOKEN_EMBD, -1);
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            float[] convBias = c.convBias() ? floats(src, c, TensorRole.SSM_CONV1D_BIAS, i) : new float[c.convDim()];
            float[] aLog = floats(src, c, TensorRole.SSM_A, i);
            float[] a = new float[aLog.length];
            for (int j = 0; j < a.length; j++) {
                a[j] = -(float) Math.exp(aLog[j]);
            }
            layers.add(LayerWeights.read((role, l) -> floats(src, c, role, l), (role, l) -> linear(src, c, role, l),
                    c, i, convBias, a));
        }
        float[] finalNorm = floats(src, c, TensorRole.OUTPUT_NORM, -1);
        WeightMatrix lmHead;
        if (src.find(TensorRole.OUTPUT.hfName(-1)).isPresent()) {
            lmHead = matrix(src, c, TensorRole.OUTPUT, -1);
        } else if (c.tieWordEmbeddings()) {
            lmHead = embed;
        } else {
            throw new InvalidInputException(src.dir() + ": no lm_head.weight and tie_word_embeddings is false");
        }
        return new FalconH1Weights(embed, layers, finalNorm, lmHead);
    }

    /** A norm, conv or SSM parameter as float32, its HF shape checked ({@link TensorRole#hfShape}). */
    private static float[] floats(HfCheckpoint src, FalconH1Config c, TensorRole role, int layer) {
        return TensorFloats.read(src.view(role.hfName(layer)), role.hfShape(c));
    }

    /** A linear layer: its {@code .weight}, or the GPTQ tensors of its module in a GPTQ checkpoint. */
    private static WeightMatrix linear(HfCheckpoint src, FalconH1Config c, LinearRole role, int layer) {
        String module = role.hfModulePath(layer);
        long[] shape = role.tensor().hfShape(c);
        if (GptqWeightMatrix.present(src, module)) {
            return GptqWeightMatrix.read(src, module, Math.toIntExact(shape[0]), Math.toIntExact(shape[1]),
                    src.configJson().get("quantization_config"));
        }
        return matrix(src, c, role.tensor(), layer);
    }

    private static WeightMatrix matrix(HfCheckpoint src, FalconH1Config c, TensorRole role, int layer) {
        long[] shape = role.hfShape(c);
        return matrix(src.view(role.hfName(layer)), shape[0], shape[1]);
    }

    private static WeightMatrix matrix(TensorView v, long rows, long cols) {
        long[] expected = {rows, cols};
        if (!Arrays.equals(v.shape(), expected)) {
            throw new InvalidInputException(v.name() + ": shape " + Arrays.toString(v.shape()) + ", expected "
                    + Arrays.toString(expected) + " from the config");
        }
        return DenseWeightMatrix.of(v);
    }
}
