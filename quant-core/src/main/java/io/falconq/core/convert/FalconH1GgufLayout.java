package io.falconq.core.convert;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.gguf.GgufValue;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorNameMap;
import io.falconq.core.model.TensorRole;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a Falcon-H1 GGUF holds, read back: the config its {@code falcon-h1.*} keys describe (the inverse of
 * {@link FalconH1GgufMetadata#architecture}) and the check that its tensors are exactly those of that config, each
 * with the shape {@link TensorRole#convertedShape} gives. Every reader of a GGUF (the runtime's loader, requantize)
 * goes through both, so a file with a missing, foreign or misshapen tensor is refused before any work.
 */
public final class FalconH1GgufLayout {
    private static final String P = FalconH1GgufMetadata.ARCH + ".";

    private FalconH1GgufLayout() {
    }

    /** Refuses a GGUF whose {@code general.architecture} is not {@code falcon-h1}, or that has none. */
    public static void requireFalconH1(GgufFile gguf) {
        String arch = gguf.metadata().find("general.architecture").map(v -> String.valueOf(v.value())).orElse(null);
        if (!FalconH1GgufMetadata.ARCH.equals(arch)) {
            throw new InvalidInputException(gguf.path() + ": general.architecture is " + (arch == null ? "missing"
                    : "\"" + arch + "\"") + ", expected \"" + FalconH1GgufMetadata.ARCH
                    + "\" (falconq handles Falcon-H1 only)");
        }
    }

    /**
     * The config of a Falcon-H1 GGUF: sizes from its keys, the vocabulary from {@code token_embd}, every µP multiplier
     * 1 (llama.cpp's converter folds them into the weights), the SSM norm present exactly when {@code ssm_norm} is.
     */
    public static FalconH1Config config(GgufFile gguf) {
        GgufMetadata md = gguf.metadata();
        requireFalconH1(gguf);
        FalconH1GgufMetadata.requireArchitectureKeys(md, gguf.path().toString());
        int hidden = md.getU32AsInt(P + "embedding_length");
        int layers = md.getU32AsInt(P + "block_count");
        int heads = md.getU32AsInt(P + "attention.head_count");
        int kvHeads = md.containsKey(P + "attention.head_count_kv") ? md.getU32AsInt(P + "attention.head_count_kv") : heads;
        int headDim = md.containsKey(P + "attention.key_length") ? md.getU32AsInt(P + "attention.key_length")
                : heads == 0 ? 0 : hidden / heads;
        int ffn = md.getU32AsInt(P + "feed_forward_length");
        int conv = md.getU32AsInt(P + "ssm.conv_kernel");
        int di = md.getU32AsInt(P + "ssm.inner_size");
        int state = md.getU32AsInt(P + "ssm.state_size");
        int ssmHeads = md.getU32AsInt(P + "ssm.time_step_rank");
        int groups = md.getU32AsInt(P + "ssm.group_count");
        float eps = md.getF32(P + "attention.layer_norm_rms_epsilon");
        double theta = md.containsKey(P + "rope.freq_base") ? md.getF32(P + "rope.freq_base") : 10000.0;
        int ctxLen = md.getU32AsInt(P + "context_length");
        if (md.containsKey(P + "attention.value_length") && md.getU32AsInt(P + "attention.value_length") != headDim) {
            throw new InvalidInputException(gguf.path() + ": attention.value_length differs from key_length "
                    + "(not a Falcon-H1 layout)");
        }
        if (md.containsKey(P + "rope.dimension_count") && md.getU32AsInt(P + "rope.dimension_count") != headDim) {
            throw new InvalidInputException(gguf.path() + ": partial rotary embeddings (rope.dimension_count "
                    + md.getU32AsInt(P + "rope.dimension_count") + " ≠ head_dim " + headDim + ") are not supported");
        }
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0 || ssmHeads <= 0 || groups <= 0 || di % ssmHeads != 0
                || ssmHeads % groups != 0) {
            throw new InvalidInputException(gguf.path() + ": inconsistent sizes: heads " + heads + ", kv heads " + kvHeads
                    + ", ssm inner " + di + ", ssm heads " + ssmHeads + ", groups " + groups);
        }
        GgufTensorInfo embd = gguf.info(TensorRole.TOKEN_EMBD.ggufName(-1));
        if (embd == null || embd.ne().length != 2) {
            throw new InvalidInputException(gguf.path() + ": missing tensor " + TensorRole.TOKEN_EMBD.ggufName(-1)
                    + " (or it is not a matrix)");
        }
        long vocab = embd.ne()[1];
        if (vocab <= 0 || vocab > Integer.MAX_VALUE) {
            throw new InvalidInputException(gguf.path() + ": token_embd has " + vocab + " rows");
        }
        boolean ssmNorm = gguf.contains(TensorRole.SSM_NORM.ggufName(0));
        boolean tied = !gguf.contains(TensorRole.OUTPUT.ggufName(-1));
        boolean convBias = gguf.contains(TensorRole.SSM_CONV1D_BIAS.ggufName(0));
        double[] ones5 = {1, 1, 1, 1, 1};
        double[] ones2 = {1, 1};
        return new FalconH1Config(hidden, layers, heads, kvHeads, headDim, ffn, (int) vocab, di, ssmHeads,
                di / ssmHeads, groups, state, conv, 256, eps, theta, ctxLen, tied, ssmNorm, false, convBias, false, false,
                false, false, 1, 1, 1, 1, 1, 1, 1, ones5, ones2,
                optionalId(md, "tokenizer.ggml.bos_token_id"), optionalId(md, "tokenizer.ggml.eos_token_id"),
                optionalId(md, "tokenizer.ggml.padding_token_id"), null, List.of());
    }

    /**
     * Refuses a GGUF whose tensors are not exactly the config's: a tensor with a foreign name or a layer beyond
     * {@code block_count}, a shape other than {@link TensorRole#convertedShape} (compared as ggml does, with missing
     * trailing dimensions of 1), or a missing tensor ({@code output.weight} may be absent: the embeddings are tied).
     */
    public static void checkTensors(GgufFile gguf, FalconH1Config c) {
        Set<String> seen = new HashSet<>();
        for (GgufTensorInfo info : gguf.tensorInfos()) {
            TensorNameMap.RoleAt at = TensorNameMap.fromGguf(info.name()).orElseThrow(() -> new InvalidInputException(
                    gguf.path() + ": tensor \"" + info.name() + "\" is not a Falcon-H1 tensor"));
            if (at.layer() >= c.numLayers() || !at.role().presentIn(c)) {
                throw new InvalidInputException(gguf.path() + ": tensor \"" + info.name() + "\" does not belong to a "
                        + c.numLayers() + "-layer Falcon-H1 (block_count)");
            }
            long[] expected = reversed(at.role().convertedShape(c));
            if (!sameGgmlShape(info.ne(), expected)) {
                throw new InvalidInputException(gguf.path() + ": tensor \"" + info.name() + "\" has ne "
                        + Arrays.toString(info.ne()) + ", expected " + Arrays.toString(expected)
                        + " from the falcon-h1.* keys");
            }
            seen.add(info.name());
        }
        for (TensorNameMap.RoleAt tensor : TensorNameMap.stored(c)) {
            if (!seen.contains(tensor.ggufName())) {
                throw new InvalidInputException(gguf.path() + ": missing tensor " + tensor.ggufName());
            }
        }
    }

    private static boolean sameGgmlShape(long[] ne, long[] expected) {
        for (int i = 0; i < Math.max(ne.length, expected.length); i++) {
            long a = i < ne.length ? ne[i] : 1;
            long b = i < expected.length ? expected[i] : 1;
            if (a != b) {
                return false;
            }
        }
        return true;
    }

    private static long[] reversed(long[] shape) {
        long[] r = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            r[i] = shape[shape.length - 1 - i];
        }
        return r;
    }

    private static Integer optionalId(GgufMetadata md, String key) {
        GgufValue v = md.find(key).orElse(null);
        return v == null ? null : md.getU32AsInt(key);
    }
}
