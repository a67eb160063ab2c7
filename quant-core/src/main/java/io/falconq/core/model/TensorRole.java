package io.falconq.core.model;

/**
 * Every tensor of a Falcon-H1 model, as one table: the Hugging Face name, the GGUF name, the shapes on both sides,
 * whether llama.cpp may quantize it, and which value transform the converter applies. Declaration order is the
 * order llama.cpp's converter writes a model: the three global tensors, then each layer's tensors in this order
 * (the order of {@code tiny-F32.gguf}).
 *
 * <p>Sources: HF names from transformers {@code modeling_falcon_h1.py} (SPEC.md §1.2); GGUF names from llama.cpp
 * {@code LLM_TENSOR_NAMES} and gguf-py {@code tensor_mapping.py} for {@code MODEL_ARCH.FALCON_H1}
 * (GGUF-NOTES.md §2.3, §3.1) — note {@code ssm_a}, {@code ssm_d} and {@code ffn_norm} carry no {@code .weight};
 * transforms from {@code Mamba2Model.modify_tensors} (§3.2); storage from {@code tensor_allows_quantization} and the
 * converter's F32 rules (§3.4, §6.1). µP factors are in {@link MupFolding}.
 *
 * <p>Templates use {@code {bid}} for the layer index. Shapes are written in PyTorch order, outermost first;
 * GGUF {@code ne} is the reverse.
 */
public enum TensorRole {
    TOKEN_EMBD("model.embed_tokens.weight", "token_embd.weight", Storage.QUANTIZABLE, Transform.NONE),
    OUTPUT_NORM("model.final_layernorm.weight", "output_norm.weight", Storage.KEEP_F32, Transform.NONE),
    /** The LM head; when the checkpoint ties it, the converter writes it anyway from the embeddings (§3.3). */
    OUTPUT("lm_head.weight", "output.weight", Storage.QUANTIZABLE, Transform.NONE),
    /** One norm feeds both the attention and the SSM branch. */
    ATTN_NORM("model.layers.{bid}.input_layernorm.weight", "blk.{bid}.attn_norm.weight", Storage.KEEP_F32, Transform.NONE),
    ATTN_Q("model.layers.{bid}.self_attn.q_proj.weight", "blk.{bid}.attn_q.weight", Storage.QUANTIZABLE, Transform.NONE),
    ATTN_K("model.layers.{bid}.self_attn.k_proj.weight", "blk.{bid}.attn_k.weight", Storage.QUANTIZABLE, Transform.NONE),
    ATTN_V("model.layers.{bid}.self_attn.v_proj.weight", "blk.{bid}.attn_v.weight", Storage.QUANTIZABLE, Transform.NONE),
    ATTN_OUT("model.layers.{bid}.self_attn.o_proj.weight", "blk.{bid}.attn_output.weight", Storage.QUANTIZABLE, Transform.NONE),
    /** Output rows ordered z, x, B, C, dt. */
    SSM_IN("model.layers.{bid}.mamba.in_proj.weight", "blk.{bid}.ssm_in.weight", Storage.QUANTIZABLE, Transform.NONE),
    /** HF {@code (conv_dim, 1, K)} squeezed to {@code (conv_dim, K)}; llama-quantize excludes {@code ssm_conv1d}. */
    SSM_CONV1D("model.layers.{bid}.mamba.conv1d.weight", "blk.{bid}.ssm_conv1d.weight", Storage.KEEP_F32, Transform.NONE),
    SSM_CONV1D_BIAS("model.layers.{bid}.mamba.conv1d.bias", "blk.{bid}.ssm_conv1d.bias", Storage.KEEP_F32, Transform.NONE),
    SSM_DT_BIAS("model.layers.{bid}.mamba.dt_bias", "blk.{bid}.ssm_dt.bias", Storage.KEEP_F32, Transform.NONE),
    /** Holds A = −exp(A_log), shape {@code (Hs, 1)}. */
    SSM_A("model.layers.{bid}.mamba.A_log", "blk.{bid}.ssm_a", Storage.KEEP_F32, Transform.NEG_EXP),
    SSM_D("model.layers.{bid}.mamba.D", "blk.{bid}.ssm_d", Storage.KEEP_F32, Transform.NONE),
    /** Gated grouped RMSNorm weight, {@code (G, Di/G)}; present only when {@code mamba_rms_norm}. */
    SSM_NORM("model.layers.{bid}.mamba.norm.weight", "blk.{bid}.ssm_norm.weight", Storage.KEEP_F32, Transform.NONE),
    SSM_OUT("model.layers.{bid}.mamba.out_proj.weight", "blk.{bid}.ssm_out.weight", Storage.QUANTIZABLE, Transform.NONE),
    /** FFN_PRE_NORM in gguf-py, mapped by its full HF name, hence no suffix. */
    FFN_NORM("model.layers.{bid}.pre_ff_layernorm.weight", "blk.{bid}.ffn_norm", Storage.KEEP_F32, Transform.NONE),
    FFN_GATE("model.layers.{bid}.feed_forward.gate_proj.weight", "blk.{bid}.ffn_gate.weight", Storage.QUANTIZABLE, Transform.NONE),
    FFN_UP("model.layers.{bid}.feed_forward.up_proj.weight", "blk.{bid}.ffn_up.weight", Storage.QUANTIZABLE, Transform.NONE),
    FFN_DOWN("model.layers.{bid}.feed_forward.down_proj.weight", "blk.{bid}.ffn_down.weight", Storage.QUANTIZABLE, Transform.NONE);

    /** Whether llama.cpp's tools may store the tensor in anything but F32. */
    public enum Storage {
        /** A ≥2-D {@code *.weight} that llama-quantize quantizes and the converter stores in the output type. */
        QUANTIZABLE,
        /** Norms, conv, and the small SSM tensors: F32 in every file llama.cpp writes. */
        KEEP_F32
    }

    /** An element-wise transform of the values, applied by the converter after upcasting to float32. */
    public enum Transform {
        NONE,
        /** {@code A = −exp(A_log)} (mamba.py, {@code Mamba2Model.modify_tensors}). */
        NEG_EXP
    }

    /** The layer index's place in a per-layer template. */
    public static final String LAYER = "{bid}";

    private final String hfTemplate;
    private final String ggufTemplate;
    private final Storage storage;
    private final Transform transform;

    TensorRole(String hfTemplate, String ggufTemplate, Storage storage, Transform transform) {
        this.hfTemplate = hfTemplate;
        this.ggufTemplate = ggufTemplate;
        this.storage = storage;
        this.transform = transform;
    }

    public String hfTemplate() {
        return hfTemplate;
    }

    public String ggufTemplate() {
        return ggufTemplate;
    }

    public Storage storage() {
        return storage;
    }

    public boolean quantizable() {
        return storage == Storage.QUANTIZABLE;
    }

    public Transform transform() {
        return transform;
    }

    /** True for tensors repeated in every layer ({@code blk.N.*}). */
    public boolean perLayer() {
        return ggufTemplate.contains(LAYER);
    }

    public String hfName(int layer) {
        return perLayer() ? hfTemplate.replace(LAYER, Integer.toString(layer)) : hfTemplate;
    }

    public String ggufName(int layer) {
        return perLayer() ? ggufTemplate.replace(LAYER, Integer.toString(layer)) : ggufTemplate;
    }

    /** Whether a model with this config has the tensor (as an output of the converter). */
    public boolean presentIn(FalconH1Config c) {
        return switch (this) {
            case SSM_NORM -> c.ssmRmsNorm();
            case SSM_CONV1D_BIAS -> c.convBias();
            default -> true;
        };
    }

    /**
     * Whether a checkpoint of this config stores the tensor: as {@link #presentIn}, but no LM head when the
     * embeddings are tied ({@code save_pretrained} leaves it out; a GGUF then has no {@code output.weight}).
     */
    public boolean storedIn(FalconH1Config c) {
        return presentIn(c) && !(this == OUTPUT && c.tieWordEmbeddings());
    }

    /** The shape the HF checkpoint must have, PyTorch order (SPEC.md §1.2). */
    public long[] hfShape(FalconH1Config c) {
        long h = c.hiddenSize();
        return switch (this) {
            case TOKEN_EMBD, OUTPUT -> new long[]{c.vocabSize(), h};
            case OUTPUT_NORM, ATTN_NORM, FFN_NORM -> new long[]{h};
            case ATTN_Q -> new long[]{c.qSize(), h};
            case ATTN_K, ATTN_V -> new long[]{c.kvSize(), h};
            case ATTN_OUT -> new long[]{h, c.qSize()};
            case SSM_IN -> new long[]{c.inProjSize(), h};
            case SSM_CONV1D -> new long[]{c.convDim(), 1, c.convKernel()};
            case SSM_CONV1D_BIAS -> new long[]{c.convDim()};
            case SSM_DT_BIAS, SSM_A, SSM_D -> new long[]{c.ssmHeads()};
            case SSM_NORM -> new long[]{c.ssmInnerSize()};
            case SSM_OUT -> new long[]{h, c.ssmInnerSize()};
            case FFN_GATE, FFN_UP -> new long[]{c.intermediateSize(), h};
            case FFN_DOWN -> new long[]{h, c.intermediateSize()};
        };
    }

    /**
     * The shape after the converter's reshapes (GGUF-NOTES.md §3.2), PyTorch order, with the rank numpy would
     * report; gguf-py writes exactly this rank (reversed) as {@code n_dims}.
     */
    public long[] convertedShape(FalconH1Config c) {
        return switch (this) {
            case SSM_CONV1D -> new long[]{c.convDim(), c.convKernel()};
            case SSM_A, SSM_D -> new long[]{c.ssmHeads(), 1};
            case SSM_NORM -> new long[]{c.ssmGroups(), c.ssmInnerSize() / c.ssmGroups()};
            default -> hfShape(c);
        };
    }
}
