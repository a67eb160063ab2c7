package io.falconq.runtime;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufValue;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.tensor.TensorView;
import io.falconq.convert.FalconH1GgufMetadata;
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
    private static final String ARCH = "falcon-h1";

    private GgufModelLoader() {
    }

    static FalconH1Model load(Path path) {
        GgufFile gguf = GgufReader.open(path);
        try {
            FalconH1Config cfg = config(gguf);
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

    private static FalconH1Config config(GgufFile gguf) {
        GgufMetadata md = gguf.metadata();
        String arch = md.getString("general.architecture");
        if (!ARCH.equals(arch)) {
            throw new InvalidInputException(gguf.path() + ": general.architecture is \"" + arch + "\", expected \""
                    + ARCH + "\" (falconq runs Falcon-H1 only)");
        }
        FalconH1GgufMetadata.requireArchitectureKeys(md, gguf.path().toString());
        String p = ARCH + ".";
        int hidden = md.getU32AsInt(p + "embedding_length");
        int layers = md.getU32AsInt(p + "block_count");
        int heads = md.getU32AsInt(p + "attention.head_count");
        int kvHeads = md.containsKey(p + "attention.head_count_kv") ? md.getU32AsInt(p + "attention.head_count_kv") : heads;
        int headDim = md.containsKey(p + "attention.key_length") ? md.getU32AsInt(p + "attention.key_length") : hidden / heads;
        int ffn = md.getU32AsInt(p + "feed_forward_length");
        int conv = md.getU32AsInt(p + "ssm.conv_kernel");
        int di = md.getU32AsInt(p + "ssm.inner_size");
        int state = md.getU32AsInt(p + "ssm.state_size");
        int ssmHeads = md.getU32AsInt(p + "ssm.time_step_rank");
        int groups = md.getU32AsInt(p + "ssm.group_count");
        float eps = md.getF32(p + "attention.layer_norm_rms_epsilon");
        double theta = md.containsKey(p + "rope.freq_base") ? md.getF32(p + "rope.freq_base") : 10000.0;
        int ctxLen = md.getU32AsInt(p + "context_length");
        if (md.containsKey(p + "attention.value_length") && md.getU32AsInt(p + "attention.value_length") != headDim) {
            throw new InvalidInputException(gguf.path() + ": attention.value_length differs from key_length "
                    + "(not a Falcon-H1 layout)");
        }
        if (md.containsKey(p + "rope.dimension_count") && md.getU32AsInt(p + "rope.dimension_count") != headDim) {
            throw new InvalidInputException(gguf.path() + ": partial rotary embeddings (rope.dimension_count "
                    + md.getU32AsInt(p + "rope.dimension_count") + " ≠ head_dim " + headDim + ") are not supported");
        }
        if (heads % kvHeads != 0 || ssmHeads == 0 || di % ssmHeads != 0 || ssmHeads % groups != 0) {
            throw new InvalidInputException(gguf.path() + ": inconsistent sizes: heads " + heads + ", kv heads " + kvHeads
                    + ", ssm inner " + di + ", ssm heads " + ssmHeads + ", groups " + groups);
        }
        long vocab = gguf.view("token_embd.weight").dim(0);
        boolean ssmNorm = gguf.contains("blk.0.ssm_norm.weight");
        boolean tied = !gguf.contains("output.weight");
        double[] ones5 = {1, 1, 1, 1, 1};
        double[] ones2 = {1, 1};
        return new FalconH1Config(hidden, layers, heads, kvHeads, headDim, ffn, Math.toIntExact(vocab), di, ssmHeads,
                di / ssmHeads, groups, state, conv, 256, eps, theta, ctxLen, tied, ssmNorm, false, true, false, false,
                false, false, 1, 1, 1, 1, 1, 1, 1, ones5, ones2,
                optionalId(md, "tokenizer.ggml.bos_token_id"), optionalId(md, "tokenizer.ggml.eos_token_id"),
                optionalId(md, "tokenizer.ggml.padding_token_id"), null, List.of());
    }

    private static Integer optionalId(GgufMetadata md, String key) {
        GgufValue v = md.find(key).orElse(null);
        if (v == null) {
            return null;
        }
        return md.getU32AsInt(key);
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
