package io.falconq.runtime;

import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;
import io.falconq.model.FalconH1Config;
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
        long h = c.hiddenSize();
        WeightMatrix embed = matrix(src.view("model.embed_tokens.weight"), c.vocabSize(), h);
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            float[] convBias;
            if (c.convBias()) {
                convBias = TensorFloats.read(src.view(p + "mamba.conv1d.bias"), c.convDim());
            } else {
                convBias = new float[c.convDim()];
            }
            float[] conv = TensorFloats.read(src.view(p + "mamba.conv1d.weight"), c.convDim(), 1, c.convKernel());
            float[] aLog = TensorFloats.read(src.view(p + "mamba.A_log"), c.ssmHeads());
            float[] a = new float[aLog.length];
            for (int j = 0; j < a.length; j++) {
                a[j] = -(float) Math.exp(aLog[j]);
            }
            float[] ssmNorm = c.ssmRmsNorm() ? TensorFloats.read(src.view(p + "mamba.norm.weight"), c.ssmInnerSize()) : null;
            layers.add(new LayerWeights(
                    TensorFloats.read(src.view(p + "input_layernorm.weight"), h),
                    linear(src, c, p + "self_attn.q_proj", c.qSize(), h),
                    linear(src, c, p + "self_attn.k_proj", c.kvSize(), h),
                    linear(src, c, p + "self_attn.v_proj", c.kvSize(), h),
                    linear(src, c, p + "self_attn.o_proj", h, c.qSize()),
                    linear(src, c, p + "mamba.in_proj", c.inProjSize(), h),
                    TensorFloats.transpose(conv, c.convDim(), c.convKernel()),
                    convBias,
                    TensorFloats.read(src.view(p + "mamba.dt_bias"), c.ssmHeads()),
                    a,
                    TensorFloats.read(src.view(p + "mamba.D"), c.ssmHeads()),
                    ssmNorm,
                    linear(src, c, p + "mamba.out_proj", h, c.ssmInnerSize()),
                    TensorFloats.read(src.view(p + "pre_ff_layernorm.weight"), h),
                    linear(src, c, p + "feed_forward.gate_proj", c.intermediateSize(), h),
                    linear(src, c, p + "feed_forward.up_proj", c.intermediateSize(), h),
                    linear(src, c, p + "feed_forward.down_proj", h, c.intermediateSize())));
        }
        float[] finalNorm = TensorFloats.read(src.view("model.final_layernorm.weight"), h);
        WeightMatrix lmHead;
        var lm = src.find("lm_head.weight");
        if (lm.isPresent()) {
            lmHead = matrix(lm.get(), c.vocabSize(), h);
        } else if (c.tieWordEmbeddings()) {
            lmHead = embed;
        } else {
            throw new InvalidInputException(src.dir() + ": no lm_head.weight and tie_word_embeddings is false");
        }
        return new FalconH1Weights(embed, layers, finalNorm, lmHead);
    }

    /** A linear layer: {@code module.weight}, or the GPTQ tensors of {@code module} in a GPTQ checkpoint. */
    private static WeightMatrix linear(HfCheckpoint src, FalconH1Config c, String module, long rows, long cols) {
        if (GptqWeightMatrix.present(src, module)) {
            return GptqWeightMatrix.read(src, module, Math.toIntExact(rows), Math.toIntExact(cols),
                    src.configJson().get("quantization_config"));
        }
        return matrix(src.view(module + ".weight"), rows, cols);
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
