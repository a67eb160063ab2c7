package io.falconq.core.convert;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.model.FalconH1Config;

import java.util.ArrayList;
import java.util.List;

/**
 * The GGUF metadata llama.cpp's converter writes for a Falcon-H1 checkpoint (GGUF-NOTES.md §2.2, §3.5), in the order
 * of {@code tiny-F32.gguf}: {@code general.architecture}, {@code general.type}, {@code general.name}, the Mamba-2
 * keys, {@code general.file_type}, the Falcon-H1 keys, {@code general.quantization_version}, then the tokenizer.
 * Counts are UINT32, the epsilon and RoPE base FLOAT32.
 */
public final class FalconH1GgufMetadata {
    public static final String ARCH = "falcon-h1";
    public static final String FILE_TYPE = "general.file_type";
    public static final String QUANTIZATION_VERSION = "general.quantization_version";
    /** {@code GGML_QNT_VERSION}. */
    public static final int GGML_QNT_VERSION = 2;

    private FalconH1GgufMetadata() {
    }

    /**
     * Refuses configurations llama.cpp cannot represent, with the reason. llama.cpp implements only gate-then-norm
     * for the gated SSM norm, has no Falcon-H1 projection biases, uses SiLU only and applies no RoPE scaling
     * (GGUF-NOTES.md §3.3, §4.3).
     */
    public static void checkRepresentable(FalconH1Config c, JsonNode config, String source) {
        List<String> problems = new ArrayList<>();
        if (c.ssmRmsNorm() && c.ssmNormBeforeGate()) {
            problems.add("mamba_norm_before_gate=true with mamba_rms_norm=true: llama.cpp only implements the gated "
                    + "norm as norm(y·silu(z)) (norm_before_gate=false), so the model would compute something else");
        }
        if (c.attentionBias()) {
            problems.add("attention_bias=true: llama.cpp's Falcon-H1 graph has no attention biases");
        }
        if (c.mlpBias()) {
            problems.add("mlp_bias=true: llama.cpp's Falcon-H1 graph has no MLP biases");
        }
        if (c.ssmProjBias() || c.projectorsBias()) {
            problems.add("mamba_proj_bias/projectors_bias=true: llama.cpp's Falcon-H1 graph has no SSM projection biases");
        }
        JsonNode act = config.get("hidden_act");
        if (act != null && !act.isNull() && !"silu".equals(act.asText())) {
            problems.add("hidden_act=" + act + ": llama.cpp's converter accepts only silu");
        }
        if (!problems.isEmpty()) {
            throw new InvalidInputException(source + ": cannot be represented in llama.cpp's falcon-h1 GGUF: "
                    + String.join("; ", problems));
        }
    }

    /** Architecture keys (everything before the tokenizer keys), in the converter's order. */
    public static GgufMetadata architecture(FalconH1Config c, String name, int fileType) {
        GgufMetadata m = new GgufMetadata();
        m.putString("general.architecture", ARCH);
        m.putString("general.type", "model");
        m.putString("general.name", name);
        // Mamba2Model.set_gguf_parameters
        m.putU32(ARCH + ".context_length", c.maxPositionEmbeddings());
        m.putU32(ARCH + ".embedding_length", c.hiddenSize());
        m.putU32(ARCH + ".block_count", c.numLayers());
        m.putU32(ARCH + ".ssm.conv_kernel", c.convKernel());
        m.putU32(ARCH + ".ssm.inner_size", c.ssmInnerSize());
        m.putU32(ARCH + ".ssm.state_size", c.ssmStateSize());
        // time_step_rank = d_inner // mamba_d_head: the number of SSM heads
        m.putU32(ARCH + ".ssm.time_step_rank", c.ssmInnerSize() / c.ssmHeadDim());
        m.putU32(ARCH + ".ssm.group_count", c.ssmGroups());
        m.putF32(ARCH + ".attention.layer_norm_rms_epsilon", (float) c.rmsNormEps());
        m.putU32(FILE_TYPE, fileType);
        // FalconH1Model.set_gguf_parameters
        m.putU32(ARCH + ".vocab_size", c.vocabSize());
        m.putU32(ARCH + ".feed_forward_length", c.intermediateSize());
        m.putU32(ARCH + ".attention.head_count", c.numHeads());
        m.putU32(ARCH + ".attention.head_count_kv", c.numKvHeads());
        m.putU32(ARCH + ".attention.key_length", c.headDim());
        m.putU32(ARCH + ".attention.value_length", c.headDim());
        m.putF32(ARCH + ".rope.freq_base", (float) c.ropeTheta());
        m.putU32(QUANTIZATION_VERSION, GGML_QNT_VERSION);
        return m;
    }

    /**
     * Refuses a GGUF that lacks a Falcon-H1 key {@link #architecture} writes, or holds it with another value type: the
     * required keys are those of that table (for a default config), so reader and writer cannot drift apart.
     */
    public static void requireArchitectureKeys(GgufMetadata meta, String source) {
        GgufMetadata expected = architecture(FalconH1Config.parse(
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("model_type",
                        FalconH1Config.MODEL_TYPE), "default"), "", 0);
        for (String key : expected.keys()) {
            if (!key.startsWith(ARCH + ".")) {
                continue;
            }
            var found = meta.find(key);
            if (found.isEmpty()) {
                throw new InvalidInputException(source + ": missing key " + key + " (every Falcon-H1 GGUF has it)");
            }
            if (found.get().type() != expected.get(key).type()) {
                throw new InvalidInputException(source + ": key " + key + " is " + found.get().type() + ", expected "
                        + expected.get(key).type());
            }
        }
    }

    /**
     * What llama-quantize does to the input's metadata ({@code llama_model_quantize_impl}): keep every key, then set
     * {@code general.quantization_version} and {@code general.file_type}; ggml's {@code gguf_set_val_*} removes an
     * existing key and appends it, so both end up last, in that order.
     */
    public static GgufMetadata requantized(GgufMetadata input, int fileType) {
        GgufMetadata m = input.copy();
        m.remove(QUANTIZATION_VERSION).putU32(QUANTIZATION_VERSION, GGML_QNT_VERSION);
        m.remove(FILE_TYPE).putU32(FILE_TYPE, fileType);
        return m;
    }
}
