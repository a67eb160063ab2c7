package io.falconq.core.calib;

import io.falconq.core.model.TensorNameMap;
import io.falconq.core.model.TensorRole;

/**
 * The linear layers of Falcon-H1 whose inputs calibration observes. Their names on both sides come from the
 * {@link TensorRole} table: the GGUF tensor name that llama-imatrix records (the {@code src0} name of each
 * {@code MUL_MAT}, {@code tools/imatrix/imatrix.cpp collect_imatrix}) and the Hugging Face module path used by GPTQ
 * checkpoints.
 *
 * <p>Several roles read the same activation: q, k, v and the SSM in_proj all multiply the one normed input of
 * the layer (SPEC.md §1.3, GGUF-NOTES.md §4.1), gate and up share the FFN-normed input. llama.cpp still records
 * each matmul separately, so the imatrix holds four identical entries for q/k/v/ssm_in; {@link #inputGroup()}
 * lets GPTQ and AWQ share one Hessian or one scale vector across a group instead.
 */
public enum LinearRole {
    ATTN_Q(TensorRole.ATTN_Q, InputGroup.ATTN_NORM),
    ATTN_K(TensorRole.ATTN_K, InputGroup.ATTN_NORM),
    ATTN_V(TensorRole.ATTN_V, InputGroup.ATTN_NORM),
    ATTN_OUTPUT(TensorRole.ATTN_OUT, InputGroup.ATTN_HEADS),
    SSM_IN(TensorRole.SSM_IN, InputGroup.ATTN_NORM),
    SSM_OUT(TensorRole.SSM_OUT, InputGroup.SSM_Y),
    FFN_GATE(TensorRole.FFN_GATE, InputGroup.FFN_NORM),
    FFN_UP(TensorRole.FFN_UP, InputGroup.FFN_NORM),
    FFN_DOWN(TensorRole.FFN_DOWN, InputGroup.FFN_ACT),
    /** The LM head; llama-imatrix records it only with {@code --process-output}. */
    OUTPUT(TensorRole.OUTPUT, InputGroup.FINAL_NORM);

    /** Which activation a linear reads; roles in one group see identical inputs. */
    public enum InputGroup {
        /** RMSNorm(h) ⊙ input_layernorm: q, k, v and the SSM in_proj. */
        ATTN_NORM,
        /** concatenated attention heads: o_proj. */
        ATTN_HEADS,
        /** gated, grouped-normed SSM output y: out_proj. */
        SSM_Y,
        /** RMSNorm(h') ⊙ pre_ff_layernorm: gate and up. */
        FFN_NORM,
        /** silu(gate)·up: down. */
        FFN_ACT,
        /** RMSNorm ⊙ final_layernorm: lm_head. */
        FINAL_NORM
    }

    private static final String WEIGHT = ".weight";

    private final TensorRole tensor;
    private final InputGroup inputGroup;

    LinearRole(TensorRole tensor, InputGroup inputGroup) {
        this.tensor = tensor;
        this.inputGroup = inputGroup;
    }

    /** The weight's row in the tensor table. */
    public TensorRole tensor() {
        return tensor;
    }

    public InputGroup inputGroup() {
        return inputGroup;
    }

    public boolean isPerLayer() {
        return tensor.perLayer();
    }

    /** GGUF weight name, e.g. {@code blk.0.attn_q.weight} or {@code output.weight}; {@code layer} is ignored for OUTPUT. */
    public String ggufWeightName(int layer) {
        return tensor.ggufName(layer);
    }

    /**
     * The role part of a per-layer GGUF weight name, between the layer number and {@code .weight}: {@code attn_q},
     * {@code ssm_in}, {@code ffn_down} … (the spelling {@code quantize --skip} takes).
     */
    public String ggufRoleName() {
        String template = tensor.ggufTemplate();
        int layer = template.indexOf(TensorRole.LAYER);
        return template.substring(layer + TensorRole.LAYER.length() + 1, template.length() - WEIGHT.length());
    }

    /** HF module path without {@code .weight}, e.g. {@code model.layers.0.self_attn.q_proj} or {@code lm_head}. */
    public String hfModulePath(int layer) {
        String weight = tensor.hfName(layer);
        return weight.substring(0, weight.length() - WEIGHT.length());
    }

    /** The roles of one decoder layer, in the order the forward pass computes them. */
    public static LinearRole[] perLayer() {
        return new LinearRole[] {SSM_IN, SSM_OUT, ATTN_Q, ATTN_K, ATTN_V, ATTN_OUTPUT, FFN_GATE, FFN_UP, FFN_DOWN};
    }

    /** Parses a GGUF weight name back to (layer, role); layer is -1 for {@code output.weight}; null if not a linear. */
    public static Located parseGguf(String name) {
        return TensorNameMap.fromGguf(name).map(at -> {
            LinearRole linear = of(at.role());
            return linear == null ? null : new Located(at.layer(), linear);
        }).orElse(null);
    }

    /** The linear whose weight is {@code tensor}, or null (norms, conv, embeddings, the small SSM tensors). */
    public static LinearRole of(TensorRole tensor) {
        for (LinearRole r : values()) {
            if (r.tensor == tensor) {
                return r;
            }
        }
        return null;
    }

    /** A role at a layer. */
    public record Located(int layer, LinearRole role) {
        public String ggufWeightName() {
            return role.ggufWeightName(layer);
        }

        public String hfModulePath() {
            return role.hfModulePath(layer);
        }
    }
}
