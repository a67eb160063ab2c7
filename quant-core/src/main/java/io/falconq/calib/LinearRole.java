package io.falconq.calib;

/**
 * The linear layers of Falcon-H1 whose inputs calibration observes, with their names on both sides:
 * the GGUF tensor name that llama-imatrix records (the {@code src0} name of each {@code MUL_MAT},
 * {@code tools/imatrix/imatrix.cpp collect_imatrix}) and the Hugging Face module path used by GPTQ checkpoints.
 *
 * <p>Several roles read the same activation: q, k, v and the SSM in_proj all multiply the one normed input of
 * the layer (SPEC.md §1.3, GGUF-NOTES.md §4.1), gate and up share the FFN-normed input. llama.cpp still records
 * each matmul separately, so the imatrix holds four identical entries for q/k/v/ssm_in; {@link #inputGroup()}
 * lets GPTQ and AWQ share one Hessian or one scale vector across a group instead.
 */
public enum LinearRole {
    ATTN_Q("attn_q", "self_attn.q_proj", InputGroup.ATTN_NORM),
    ATTN_K("attn_k", "self_attn.k_proj", InputGroup.ATTN_NORM),
    ATTN_V("attn_v", "self_attn.v_proj", InputGroup.ATTN_NORM),
    ATTN_OUTPUT("attn_output", "self_attn.o_proj", InputGroup.ATTN_HEADS),
    SSM_IN("ssm_in", "mamba.in_proj", InputGroup.ATTN_NORM),
    SSM_OUT("ssm_out", "mamba.out_proj", InputGroup.SSM_Y),
    FFN_GATE("ffn_gate", "feed_forward.gate_proj", InputGroup.FFN_NORM),
    FFN_UP("ffn_up", "feed_forward.up_proj", InputGroup.FFN_NORM),
    FFN_DOWN("ffn_down", "feed_forward.down_proj", InputGroup.FFN_ACT),
    /** The LM head; llama-imatrix records it only with {@code --process-output}. */
    OUTPUT("output", "lm_head", InputGroup.FINAL_NORM);

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

    private final String ggufStem;
    private final String hfModule;
    private final InputGroup inputGroup;

    LinearRole(String ggufStem, String hfModule, InputGroup inputGroup) {
        this.ggufStem = ggufStem;
        this.hfModule = hfModule;
        this.inputGroup = inputGroup;
    }

    public InputGroup inputGroup() {
        return inputGroup;
    }

    public boolean isPerLayer() {
        return this != OUTPUT;
    }

    /** GGUF weight name, e.g. {@code blk.0.attn_q.weight} or {@code output.weight}; {@code layer} is ignored for OUTPUT. */
    public String ggufWeightName(int layer) {
        return isPerLayer() ? "blk." + layer + "." + ggufStem + ".weight" : ggufStem + ".weight";
    }

    /** HF module path without {@code .weight}, e.g. {@code model.layers.0.self_attn.q_proj} or {@code lm_head}. */
    public String hfModulePath(int layer) {
        return isPerLayer() ? "model.layers." + layer + "." + hfModule : hfModule;
    }

    /** The roles of one decoder layer, in the order the forward pass computes them. */
    public static LinearRole[] perLayer() {
        return new LinearRole[] {SSM_IN, SSM_OUT, ATTN_Q, ATTN_K, ATTN_V, ATTN_OUTPUT, FFN_GATE, FFN_UP, FFN_DOWN};
    }

    /** Parses a GGUF weight name back to (layer, role); layer is -1 for {@code output.weight}. */
    public static Located parseGguf(String name) {
        if (name.equals(OUTPUT.ggufWeightName(-1))) {
            return new Located(-1, OUTPUT);
        }
        if (name.startsWith("blk.") && name.endsWith(".weight")) {
            int dot = name.indexOf('.', 4);
            if (dot > 4) {
                try {
                    int layer = Integer.parseInt(name.substring(4, dot));
                    String stem = name.substring(dot + 1, name.length() - ".weight".length());
                    for (LinearRole r : values()) {
                        if (r.isPerLayer() && r.ggufStem.equals(stem)) {
                            return new Located(layer, r);
                        }
                    }
                } catch (NumberFormatException ignored) {
                    // falls through to null: not a layer tensor name
                }
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
