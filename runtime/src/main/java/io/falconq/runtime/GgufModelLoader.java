package io.falconq.runtime;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.convert.FalconH1GgufLayout;
import io.falconq.core.model.FalconH1Config;
import io.falconq.runtime.kernel.DenseWeightMatrix;
import io.falconq.runtime.kernel.QuantizedWeightMatrix;
import io.falconq.runtime.kernel.WeightMatrix;
import io.falconq.runtime.text.HfTokenizer;

import java.nio.file.Path;

/**
 * Builds a {@link FalconH1Model} from a llama.cpp Falcon-H1 GGUF (GGUF-NOTES.md §2): sizes from the
 * {@code falcon-h1.*} keys, tensors by their GGUF names. What llama.cpp's converter changed is undone or carried:
 * <ul>
 *   <li>every µP multiplier is already folded into the weights (§3.3), so the forward pass runs with
 *       {@link Multipliers#folded()};</li>
 *   <li>{@code ssm_a} already holds A = −exp(A_log) (§3.2); {@code ssm_conv1d} is squeezed to (conv_dim, K);
 *       {@code ssm_norm} is (G, Di/G), the same bytes as (Di);</li>
 *   <li>llama.cpp implements only the gated norm with the gate applied first (norm_before_gate = false, §4.3), and
 *       the norm is present exactly when {@code ssm_norm.weight} is;</li>
 *   <li>without {@code output.weight}, llama.cpp reuses {@code token_embd} as the output, and so does this loader
 *       (the config read from the file is tied exactly then).</li>
 * </ul>
 * F32, F16 and BF16 tensors are read in place; quantized linear weights (every ggml block type with a falconq
 * codec) are read in place too, in their block encoding ({@link QuantizedWeightMatrix}).
 */
record GgufModelLoader(GgufFile file, FalconH1Config config) implements WeightSource {

    static FalconH1Model load(GgufFile gguf, Path path) {
        FalconH1Config cfg = FalconH1GgufLayout.config(gguf);
        FalconH1GgufLayout.checkTensors(gguf, cfg);
        // a GGUF carries its vocabulary, but falconq tokenizes with tokenizer.json: use one beside the file if any
        return new GgufModelLoader(gguf, cfg).model(Multipliers.folded(), path,
                HfTokenizer.folderHolding(path.toAbsolutePath().getParent()));
    }

    @Override
    public FalconH1Model.Format format() {
        return FalconH1Model.Format.GGUF;
    }

    @Override
    public WeightMatrix encoded(TensorView v) {
        return switch (v.type()) {
            case F32, F16, BF16 -> DenseWeightMatrix.of(v);
            default -> QuantizedWeightMatrix.of(v);
        };
    }
}
