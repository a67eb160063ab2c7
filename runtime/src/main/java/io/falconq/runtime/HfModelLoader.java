package io.falconq.runtime;

import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.calib.LinearRole;
import io.falconq.core.model.FalconH1Config;
import io.falconq.runtime.kernel.DenseWeightMatrix;
import io.falconq.runtime.kernel.GptqWeightMatrix;
import io.falconq.runtime.kernel.WeightMatrix;
import io.falconq.runtime.text.HfTokenizer;

import java.nio.file.Path;

/**
 * Builds a {@link FalconH1Model} from a Hugging Face checkpoint (SPEC.md §1.2 names and shapes). Weights are used
 * as stored; the forward pass applies the config's µP multipliers to activations, as transformers does.
 */
record HfModelLoader(HfCheckpoint file, FalconH1Config config) implements WeightSource {

    static FalconH1Model load(HfCheckpoint ckpt, Path path) {
        if (ckpt.configJson() == null) {
            throw new InvalidInputException(ckpt.dir() + ": no config.json beside the weights");
        }
        FalconH1Config cfg = FalconH1Config.parse(ckpt.configJson(), ckpt.dir().resolve("config.json").toString());
        cfg.requireNoProjectionBiases(ckpt.dir());
        return new HfModelLoader(ckpt, cfg).model(Multipliers.of(cfg), path, HfTokenizer.folderHolding(ckpt.dir()));
    }

    @Override
    public FalconH1Model.Format format() {
        return FalconH1Model.Format.HF_SAFETENSORS;
    }

    @Override
    public WeightMatrix encoded(TensorView v) {
        return DenseWeightMatrix.of(v);
    }

    /** A linear layer: its {@code .weight}, or the GPTQ tensors of its module in a GPTQ checkpoint. */
    @Override
    public WeightMatrix linear(LinearRole role, int layer) {
        String module = role.hfModulePath(layer);
        long[] shape = role.tensor().hfShape(config);
        if (GptqWeightMatrix.present(file, module)) {
            return GptqWeightMatrix.read(file, module, Math.toIntExact(shape[0]), Math.toIntExact(shape[1]),
                    file.configJson().get("quantization_config"));
        }
        return matrix(role.tensor(), layer);
    }
}
