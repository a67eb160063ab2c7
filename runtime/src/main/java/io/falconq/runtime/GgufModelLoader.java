package io.falconq.runtime;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.convert.FalconH1GgufLayout;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;
import io.falconq.runtime.kernel.DenseWeightMatrix;
import io.falconq.runtime.kernel.QuantizedWeightMatrix;
import io.falconq.runtime.kernel.WeightMatrix;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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
 *   <li>without {@code output.weight}, llama.cpp reuses {@code token_embd} as the output, and so does this loader.</li>
 * </ul>
 * F32, F16 and BF16 tensors are read in place; quantized linear weights (every ggml block type with a falconq
 * codec) are read in place too, in their block encoding ({@link QuantizedWeightMatrix}).
 */
final class GgufModelLoader {
    private GgufModelLoader() {
    }

    static FalconH1Model load(Path path) {
        GgufFile gguf = GgufReader.open(path);
        try {
            FalconH1Config cfg = FalconH1GgufLayout.config(gguf);
            FalconH1GgufLayout.checkTensors(gguf, cfg);
            FalconH1Weights weights = readWeights(gguf, cfg);
            // a GGUF carries its vocabulary, but falconq tokenizes with tokenizer.json: use one beside the file if any
            Path dir = path.toAbsolutePath().getParent();
            Path tokDir = dir != null && Files.isRegularFile(dir.resolve("tokenizer.json")) ? dir : null;
            return new FalconH1Model(cfg, weights, Multipliers.folded(), FalconH1Model.Format.GGUF, path, tokDir, gguf);
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    private static FalconH1Weights readWeights(GgufFile src, FalconH1Config c) {
        WeightMatrix embed = matrix(src, c, TensorRole.TOKEN_EMBD, -1);
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            float[] convBias = src.find(TensorRole.SSM_CONV1D_BIAS.ggufName(i))
                    .map(v -> TensorFloats.read(v, TensorRole.SSM_CONV1D_BIAS.convertedShape(c)))
                    .orElse(new float[c.convDim()]);
            layers.add(LayerWeights.read((role, l) -> floats(src, c, role, l),
                    (role, l) -> matrix(src, c, role.tensor(), l), c, i, convBias, floats(src, c, TensorRole.SSM_A, i)));
        }
        float[] finalNorm = floats(src, c, TensorRole.OUTPUT_NORM, -1);
        WeightMatrix lmHead = src.find(TensorRole.OUTPUT.ggufName(-1)).isPresent()
                ? matrix(src, c, TensorRole.OUTPUT, -1) : embed;
        return new FalconH1Weights(embed, layers, finalNorm, lmHead);
    }

    /**
     * A norm, conv or SSM parameter as float32, its shape checked against the converter's
     * ({@link TensorRole#convertedShape}) with unit dimensions aside: writers differ on keeping them ({@code ssm_a},
     * {@code ssm_d}, {@code ssm_norm}).
     */
    private static float[] floats(GgufFile src, FalconH1Config c, TensorRole role, int layer) {
        return TensorFloats.readSqueezed(src.view(role.ggufName(layer)), role.convertedShape(c));
    }

    private static WeightMatrix matrix(GgufFile src, FalconH1Config c, TensorRole role, int layer) {
        long[] shape = role.convertedShape(c);
        return matrix(src.view(role.ggufName(layer)), shape[0], shape[1]);
    }

    private static WeightMatrix matrix(TensorView v, long rows, long cols) {
        long[] expected = {rows, cols};
        if (!Arrays.equals(v.shape(), expected)) {
            throw new InvalidInputException(v.name() + ": shape " + Arrays.toString(v.shape()) + ", expected "
                    + Arrays.toString(expected) + " from the GGUF metadata");
        }
        return switch (v.type()) {
            case F32, F16, BF16 -> DenseWeightMatrix.of(v);
            default -> QuantizedWeightMatrix.of(v);
        };
    }
}
