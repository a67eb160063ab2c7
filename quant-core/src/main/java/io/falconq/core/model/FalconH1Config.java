package io.falconq.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A validated Falcon-H1 {@code config.json} (SPEC.md §1.1): every field found in the released configs, HF defaults
 * for absent ones (those of transformers' {@code FalconH1Config}), and derived sizes. Missing µP multipliers default
 * to 1.0 as in transformers, but each one is recorded in {@link #warnings()}: a model run with a wrong multiplier is
 * silently broken, so callers print these loudly.
 *
 * @param hiddenSize            H
 * @param numLayers             L
 * @param numHeads              nh, attention query heads
 * @param numKvHeads            nkv
 * @param headDim               hd (not H/nh in general)
 * @param intermediateSize      F, MLP inner size
 * @param vocabSize             V (may exceed the tokenizer's token count)
 * @param ssmInnerSize          Di = mamba_d_ssm (default mamba_expand·H)
 * @param ssmHeads              Hs
 * @param ssmHeadDim            P = Di / Hs
 * @param ssmGroups             G
 * @param ssmStateSize          S
 * @param convKernel            K
 * @param ssmMultipliers        [m_z, m_x, m_B, m_C, m_dt]
 * @param mlpMultipliers        [gate, down]
 */
public record FalconH1Config(
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int intermediateSize,
        int vocabSize,
        int ssmInnerSize,
        int ssmHeads,
        int ssmHeadDim,
        int ssmGroups,
        int ssmStateSize,
        int convKernel,
        int ssmChunkSize,
        double rmsNormEps,
        double ropeTheta,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean ssmRmsNorm,
        boolean ssmNormBeforeGate,
        boolean convBias,
        boolean ssmProjBias,
        boolean projectorsBias,
        boolean attentionBias,
        boolean mlpBias,
        double embeddingMultiplier,
        double lmHeadMultiplier,
        double attentionInMultiplier,
        double attentionOutMultiplier,
        double keyMultiplier,
        double ssmInMultiplier,
        double ssmOutMultiplier,
        double[] ssmMultipliers,
        double[] mlpMultipliers,
        Integer bosTokenId,
        Integer eosTokenId,
        Integer padTokenId,
        String torchDtype,
        List<String> warnings) {

    public static final String MODEL_TYPE = "falcon_h1";
    /**
     * Caps that hold for every real Falcon-H1 (the largest, 34B, has hidden_size 5120, 72 layers, vocab_size 261120)
     * with room for much larger ones, so that every product of dimensions fits a long and every per-layer row an
     * int; a config beyond them is an input error naming the key (documented in the README, Design choices).
     */
    public static final int MAX_WIDTH = 1 << 16;
    public static final int MAX_LAYERS = 1024;
    public static final int MAX_HEADS = 4096;
    public static final int MAX_HEAD_DIM = 4096;
    public static final int MAX_VOCAB = 1 << 22;
    /** µP multipliers of released models are between 0.0078 and 5.7. */
    public static final double MAX_MULTIPLIER = 1e4;
    private static final ObjectMapper JSON = new ObjectMapper();

    public FalconH1Config {
        ssmMultipliers = ssmMultipliers.clone();
        mlpMultipliers = mlpMultipliers.clone();
        warnings = List.copyOf(warnings);
    }

    @Override
    public double[] ssmMultipliers() {
        return ssmMultipliers.clone();
    }

    @Override
    public double[] mlpMultipliers() {
        return mlpMultipliers.clone();
    }

    // ---- derived sizes -------------------------------------------------------------------------------------

    /** conv_dim = Di + 2·G·S: channels of the depthwise convolution (x, B, C). */
    public int convDim() {
        return ssmInnerSize + 2 * ssmGroups * ssmStateSize;
    }

    /** d_in_proj = 2·Di + 2·G·S + Hs: rows of in_proj, ordered z, x, B, C, dt. */
    public int inProjSize() {
        return 2 * ssmInnerSize + 2 * ssmGroups * ssmStateSize + ssmHeads;
    }

    /**
     * Refuses the projection biases no released Falcon-H1 has ({@code attention_bias}, {@code mlp_bias},
     * {@code mamba_proj_bias}, {@code projectors_bias}): neither the converter's table nor the forward pass has them.
     *
     * @param where the file or folder to name in the error
     */
    public void requireNoProjectionBiases(Object where) {
        List<String> biases = new ArrayList<>();
        if (attentionBias) {
            biases.add("attention_bias");
        }
        if (mlpBias) {
            biases.add("mlp_bias");
        }
        if (ssmProjBias) {
            biases.add("mamba_proj_bias");
        }
        if (projectorsBias) {
            biases.add("projectors_bias");
        }
        if (!biases.isEmpty()) {
            throw new InvalidInputException(where + ": " + String.join(", ", biases)
                    + " = true is not supported (no released Falcon-H1 model has projection biases)");
        }
    }

    /** Query heads per key/value head. */
    public int gqaGroupSize() {
        return numHeads / numKvHeads;
    }

    /** SSM heads per B/C group: head h uses group h / ssmHeadsPerGroup(). */
    public int ssmHeadsPerGroup() {
        return ssmHeads / ssmGroups;
    }

    public int qSize() {
        return numHeads * headDim;
    }

    public int kvSize() {
        return numKvHeads * headDim;
    }

    // ---- parameter counts ----------------------------------------------------------------------------------

    /** Parameter counts by component, computed from the shapes of SPEC.md §1.2. */
    public ParameterCounts parameterCounts() {
        long h = hiddenSize;
        long attention = h * qSize() + 2L * h * kvSize() + (long) qSize() * h;
        long ssm = (long) inProjSize() * h + (long) convDim() * convKernel + (convBias ? convDim() : 0)
                + 3L * ssmHeads + (ssmRmsNorm ? ssmInnerSize : 0) + h * ssmInnerSize;
        long mlp = 3L * intermediateSize * h;
        long norms = 2L * h;
        long embeddings = (long) vocabSize * h;
        long lmHead = tieWordEmbeddings ? 0 : (long) vocabSize * h;
        return new ParameterCounts(embeddings, lmHead, attention * numLayers, ssm * numLayers, mlp * numLayers,
                norms * numLayers + h);
    }

    /** Parameters by component; {@code norms} includes the final norm. */
    public record ParameterCounts(long embeddings, long lmHead, long attention, long ssm, long mlp, long norms) {
        public long total() {
            return embeddings + lmHead + attention + ssm + mlp + norms;
        }
    }

    // ---- parsing -------------------------------------------------------------------------------------------

    public static FalconH1Config read(Path configJson) {
        JsonNode root;
        try {
            if (!Files.exists(configJson)) {
                throw new InvalidInputException(configJson + ": no such file (a Hugging Face model folder needs config.json)");
            }
            root = JSON.readTree(InputFiles.readAll(configJson, InputFiles.MAX_JSON_BYTES));
        } catch (IOException e) {
            throw new InvalidInputException(configJson + ": not valid JSON: " + firstLine(e.getMessage()), e);
        }
        return parse(root, configJson.toString());
    }

    /** Parses a config.json tree; {@code source} names it in error messages. */
    public static FalconH1Config parse(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new InvalidInputException(source + ": expected a JSON object");
        }
        Fields f = new Fields(root, source);
        String modelType = f.string("model_type", null);
        if (modelType == null) {
            throw new InvalidInputException(source + ": no model_type (expected \"" + MODEL_TYPE + "\")");
        }
        if (!MODEL_TYPE.equals(modelType)) {
            throw new InvalidInputException(source + ": model_type is \"" + modelType + "\", expected \"" + MODEL_TYPE
                    + "\" (falconq handles Falcon-H1 only)");
        }
        int hidden = f.boundedInt("hidden_size", 4096, MAX_WIDTH);
        int layers = f.boundedInt("num_hidden_layers", 32, MAX_LAYERS);
        int heads = f.boundedInt("num_attention_heads", 32, MAX_HEADS);
        int kvHeads = f.boundedInt("num_key_value_heads", 8, MAX_HEADS);
        int headDim = f.has("head_dim") ? f.boundedInt("head_dim", 0, MAX_HEAD_DIM) : hidden / heads;
        int intermediate = f.boundedInt("intermediate_size", 14336, MAX_WIDTH * 8);
        int vocab = f.boundedInt("vocab_size", 128000, MAX_VOCAB);
        int expand = f.boundedInt("mamba_expand", 2, 16);
        int ssmInner = f.has("mamba_d_ssm") ? f.boundedInt("mamba_d_ssm", 0, MAX_WIDTH * 4)
                : f.product("mamba_expand × hidden_size", expand, hidden, MAX_WIDTH * 4);
        int ssmHeads = f.boundedInt("mamba_n_heads", 128, MAX_HEADS);
        int ssmHeadDim = f.has("mamba_d_head") ? f.boundedInt("mamba_d_head", 0, MAX_HEAD_DIM) : ssmInner / ssmHeads;
        int groups = f.boundedInt("mamba_n_groups", 1, MAX_HEADS);
        int state = f.boundedInt("mamba_d_state", 256, MAX_HEAD_DIM);
        int conv = f.boundedInt("mamba_d_conv", 4, 64);
        int chunk = f.boundedInt("mamba_chunk_size", 256, 1 << 16);

        if (heads % kvHeads != 0) {
            throw f.invalid("num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        if ((long) ssmHeads * ssmHeadDim != ssmInner) {
            throw f.invalid("mamba_n_heads " + ssmHeads + " × mamba_d_head " + ssmHeadDim + " = "
                    + ((long) ssmHeads * ssmHeadDim) + ", expected mamba_d_ssm " + ssmInner);
        }
        if (ssmHeads % groups != 0) {
            throw f.invalid("mamba_n_heads " + ssmHeads + " is not a multiple of mamba_n_groups " + groups);
        }
        if (ssmInner % groups != 0) {
            throw f.invalid("mamba_d_ssm " + ssmInner + " is not a multiple of mamba_n_groups " + groups);
        }
        if (headDim % 2 != 0) {
            throw f.invalid("head_dim " + headDim + " must be even for rotary embeddings");
        }
        double eps = f.boundedDouble("rms_norm_eps", 1e-5, 1);
        double theta = f.boundedDouble("rope_theta", 1e11, 1e15);
        JsonNode ropeScaling = root.get("rope_scaling");
        if (ropeScaling != null && !ropeScaling.isNull()) {
            throw f.invalid("rope_scaling " + ropeScaling + " is not supported (released Falcon-H1 models use none)");
        }

        List<String> warnings = new ArrayList<>();
        double embeddingMult = f.multiplier("embedding_multiplier", warnings);
        double lmHeadMult = f.multiplier("lm_head_multiplier", warnings);
        double attnIn = f.multiplier("attention_in_multiplier", warnings);
        double attnOut = f.multiplier("attention_out_multiplier", warnings);
        double keyMult = f.multiplier("key_multiplier", warnings);
        double ssmIn = f.multiplier("ssm_in_multiplier", warnings);
        double ssmOut = f.multiplier("ssm_out_multiplier", warnings);
        double[] ssmMults = f.multiplierArray("ssm_multipliers", 5, warnings);
        double[] mlpMults = f.multiplierArray("mlp_multipliers", 2, warnings);

        return new FalconH1Config(hidden, layers, heads, kvHeads, headDim, intermediate, vocab, ssmInner, ssmHeads,
                ssmHeadDim, groups, state, conv, chunk, eps, theta, f.boundedInt("max_position_embeddings", 8192, 1 << 24),
                f.bool("tie_word_embeddings", false), f.bool("mamba_rms_norm", false),
                f.bool("mamba_norm_before_gate", true), f.bool("mamba_conv_bias", true),
                f.bool("mamba_proj_bias", false), f.bool("projectors_bias", false), f.bool("attention_bias", false),
                f.bool("mlp_bias", false), embeddingMult, lmHeadMult, attnIn, attnOut, keyMult, ssmIn, ssmOut,
                ssmMults, mlpMults, f.optionalInt("bos_token_id"), f.optionalInt("eos_token_id"),
                f.optionalInt("pad_token_id"), f.string("torch_dtype", null), warnings);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Typed field access with errors that name the file and the key. */
    private record Fields(JsonNode root, String source) {
        boolean has(String key) {
            JsonNode n = root.get(key);
            return n != null && !n.isNull();
        }

        InvalidInputException invalid(String what) {
            return new InvalidInputException(source + ": " + what);
        }

        int boundedInt(String key, int dflt, int max) {
            if (!has(key)) {
                return dflt;
            }
            JsonNode n = root.get(key);
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() <= 0) {
                throw invalid(key + " must be a positive integer, found " + n);
            }
            if (n.intValue() > max) {
                throw invalid(key + " is " + n + ", over falconq's cap of " + max + " for any Falcon-H1");
            }
            return n.intValue();
        }

        /** {@code a × b} of two parsed values, refused (naming {@code what}) when over {@code max}. */
        int product(String what, int a, int b, int max) {
            long p = (long) a * b;
            if (p > max) {
                throw invalid(what + " is " + p + ", over falconq's cap of " + max + " for any Falcon-H1");
            }
            return (int) p;
        }

        Integer optionalInt(String key) {
            if (!has(key)) {
                return null;
            }
            JsonNode n = root.get(key);
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw invalid(key + " must be an integer, found " + n);
            }
            return n.intValue();
        }

        double boundedDouble(String key, double dflt, double max) {
            if (!has(key)) {
                return dflt;
            }
            JsonNode n = root.get(key);
            if (!n.isNumber() || !(n.doubleValue() > 0) || !(n.doubleValue() <= max)) {
                throw invalid(key + " must be a positive number of at most " + max + ", found " + n);
            }
            return n.doubleValue();
        }

        boolean bool(String key, boolean dflt) {
            if (!has(key)) {
                return dflt;
            }
            JsonNode n = root.get(key);
            if (!n.isBoolean()) {
                throw invalid(key + " must be true or false, found " + n);
            }
            return n.booleanValue();
        }

        String string(String key, String dflt) {
            if (!has(key)) {
                return dflt;
            }
            JsonNode n = root.get(key);
            if (!n.isTextual()) {
                throw invalid(key + " must be a string, found " + n);
            }
            return n.textValue();
        }

        double multiplier(String key, List<String> warnings) {
            if (!has(key)) {
                warnings.add(key + " is absent: using the HF default 1.0; a Falcon-H1 checkpoint trained with µP almost "
                        + "certainly needs its real value, so outputs may be wrong");
                return 1.0;
            }
            JsonNode n = root.get(key);
            return finiteMultiplier(key, n);
        }

        double finiteMultiplier(String key, JsonNode n) {
            if (!n.isNumber() || !(Math.abs(n.doubleValue()) <= MAX_MULTIPLIER)) {
                throw invalid(key + " must be a finite number of magnitude at most " + MAX_MULTIPLIER + ", found " + n);
            }
            return n.doubleValue();
        }

        double[] multiplierArray(String key, int length, List<String> warnings) {
            double[] out = new double[length];
            if (!has(key)) {
                warnings.add(key + " is absent: using the HF default [1.0 ×" + length + "]; outputs may be wrong");
                java.util.Arrays.fill(out, 1.0);
                return out;
            }
            JsonNode n = root.get(key);
            if (!n.isArray() || n.size() != length) {
                throw invalid(key + " must be an array of " + length + " numbers, found " + n);
            }
            for (int i = 0; i < length; i++) {
                out[i] = finiteMultiplier(key + "[" + i + "]", n.get(i));
            }
            return out;
        }
    }
}
