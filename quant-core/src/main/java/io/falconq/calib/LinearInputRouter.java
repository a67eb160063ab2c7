package io.falconq.calib;

/**
 * Turns the runtime's named activation trace ({@code io.falconq.runtime.ActivationObserver}: names of the PyTorch
 * reference's hidden-state dump plus three calibration points) into linear-input observations:
 * <pre>
 *   layerN.input_layernorm   → attn_q, attn_k, attn_v, ssm_in   (the normed input, before attention_in / ssm_in
 *                                                               multipliers, which the GGUF weights absorb)
 *   layerN.mamba.y_gated     → ssm_out
 *   layerN.attn_heads        → attn_output
 *   layerN.pre_ff_layernorm  → ffn_gate, ffn_up
 *   layerN.mlp_act           → ffn_down                        (up · silu(gate · gate_multiplier))
 *   final_layernorm          → output
 *   embeddings               → {@link ActivationObserver#onEmbeddings} (the residual stream entering layer 0)
 * </pre>
 * Other names are ignored. Quant-core cannot see the runtime's interface (the dependency points the other way),
 * so callers pass this as a method reference: {@code (name, x, rows, cols) -> LinearInputRouter.route(name, x,
 * rows, cols, observer)}.
 */
public final class LinearInputRouter {
    private LinearInputRouter() {
    }

    public static void route(String name, float[] x, int rows, int cols, ActivationObserver target) {
        if (name.equals("final_layernorm")) {
            target.onLinearInput(-1, LinearRole.OUTPUT, x, rows, cols);
            return;
        }
        if (name.equals("embeddings")) {
            target.onEmbeddings(x, rows, cols);
            return;
        }
        if (!name.startsWith("layer")) {
            return;
        }
        int dot = name.indexOf('.');
        if (dot < 0) {
            return;
        }
        int layer;
        try {
            layer = Integer.parseInt(name.substring(5, dot));
        } catch (NumberFormatException e) {
            return;
        }
        switch (name.substring(dot + 1)) {
            case "input_layernorm" -> {
                target.onLinearInput(layer, LinearRole.ATTN_Q, x, rows, cols);
                target.onLinearInput(layer, LinearRole.ATTN_K, x, rows, cols);
                target.onLinearInput(layer, LinearRole.ATTN_V, x, rows, cols);
                target.onLinearInput(layer, LinearRole.SSM_IN, x, rows, cols);
            }
            case "mamba.y_gated" -> target.onLinearInput(layer, LinearRole.SSM_OUT, x, rows, cols);
            case "attn_heads" -> target.onLinearInput(layer, LinearRole.ATTN_OUTPUT, x, rows, cols);
            case "pre_ff_layernorm" -> {
                target.onLinearInput(layer, LinearRole.FFN_GATE, x, rows, cols);
                target.onLinearInput(layer, LinearRole.FFN_UP, x, rows, cols);
            }
            case "mlp_act" -> target.onLinearInput(layer, LinearRole.FFN_DOWN, x, rows, cols);
            default -> {
                // an intermediate that no linear layer reads
            }
        }
    }
}
