package io.falconq.runtime;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;
import io.falconq.convert.FalconH1GgufLayout;
import io.falconq.model.FalconH1Config;
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
        long h = c.hiddenSize();
        WeightMatrix embed = matrix(src.view("token_embd.weight"), c.vocabSize(), h);
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "blk." + i + ".";
            float[] conv = TensorFloats.read(src.view(p + "ssm_conv1d.weight"), c.convDim(), c.convKernel());
            float[] convBias = src.find(p + "ssm_conv1d.bias").map(v -> TensorFloats.read(v, c.convDim()))
                    .orElse(new float[c.convDim()]);
            float[] ssmNorm = c.ssmRmsNorm() ? TensorFloats.readSqueezed(src.view(p + "ssm_norm.weight"), c.ssmGroups(),
                    c.ssmInnerSize() / c.ssmGroups()) : null;
            layers.add(new LayerWeights(
                    TensorFloats.read(src.view(p + "attn_norm.weight"), h),
                    matrix(src.view(p + "attn_q.weight"), c.qSize(), h),
                    matrix(src.view(p + "attn_k.weight"), c.kvSize(), h),
                    matrix(src.view(p + "attn_v.weight"), c.kvSize(), h),
                    matrix(src.view(p + "attn_output.weight"), h, c.qSize()),
                    matrix(src.view(p + "ssm_in.weight"), c.inProjSize(), h),
                    TensorFloats.transpose(conv, c.convDim(), c.convKernel()),
                    convBias,
                    TensorFloats.read(src.view(p + "ssm_dt.bias"), c.ssmHeads()),
                    TensorFloats.readSqueezed(src.view(p + "ssm_a"), c.ssmHeads(), 1),
                    TensorFloats.readSqueezed(src.view(p + "ssm_d"), c.ssmHeads(), 1),
                    ssmNorm,
                    matrix(src.view(p + "ssm_out.weight"), h, c.ssmInnerSize()),
                    TensorFloats.read(src.view(p + "ffn_norm"), h),
                    matrix(src.view(p + "ffn_gate.weight"), c.intermediateSize(), h),
                    matrix(src.view(p + "ffn_up.weight"), c.intermediateSize(), h),
                    matrix(src.view(p + "ffn_down.weight"), h, c.intermediateSize())));
        }
        float[] finalNorm = TensorFloats.read(src.view("output_norm.weight"), h);
        WeightMatrix lmHead = src.find("output.weight").map(v -> matrix(v, c.vocabSize(), h)).orElse(embed);
        return new FalconH1Weights(embed, layers, finalNorm, lmHead);
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
