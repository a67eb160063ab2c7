package io.falconq.core.calib;

/**
 * Sees the input of every linear layer while the runtime runs calibration text.
 *
 * <p>Contract for the runtime: call {@link #onLinearInput} once per matrix product with the activation that
 * multiplies the <b>GGUF (µP-folded) weight</b>, i.e. the value llama.cpp's {@code MUL_MAT} sees as {@code src1}.
 * The converter folds every µP multiplier either into weight rows (output side: key, attention_out, ssm_out,
 * gate, down, lm_head, the ssm_multipliers segments) or, for the scalar input multipliers attention_in and
 * ssm_in, into the whole weight (GGUF-NOTES.md §3.3). So q/k/v/ssm_in see the normed input {@code n} without
 * {@code attention_in_multiplier}/{@code ssm_in_multiplier}, exactly as llama.cpp does; a runtime that keeps HF
 * semantics must report {@code n}, not {@code n·multiplier}. GPTQ and AWQ are invariant to a scalar on the
 * input, so the same observations serve them.
 *
 * <p>Implementations must not keep a reference to {@code x} (the runtime reuses the buffer) and must be safe to
 * call from one thread at a time (the runtime calls it sequentially in layer order).
 */
@FunctionalInterface
public interface LinearInputObserver {
    /**
     * @param layer decoder layer index, or -1 for {@link LinearRole#OUTPUT}
     * @param role  which linear
     * @param x     row-major activations, {@code rows} tokens × {@code cols} input features
     * @param rows  tokens in this call
     * @param cols  input features of the linear
     */
    void onLinearInput(int layer, LinearRole role, float[] x, int rows, int cols);

    /**
     * The residual stream entering layer 0, {@code embed[ids] · embedding_multiplier} (HF semantics, SPEC.md §1.3),
     * once per forward call; ignored unless overridden. AWQ runs the float network downstream of a quantized block
     * from it. Same buffer rules as {@link #onLinearInput}.
     */
    default void onEmbeddings(float[] x, int rows, int cols) {
    }

    /** Calls each observer in turn. */
    static LinearInputObserver both(LinearInputObserver a, LinearInputObserver b) {
        return new LinearInputObserver() {
            @Override
            public void onLinearInput(int layer, LinearRole role, float[] x, int rows, int cols) {
                a.onLinearInput(layer, role, x, rows, cols);
                b.onLinearInput(layer, role, x, rows, cols);
            }

            @Override
            public void onEmbeddings(float[] x, int rows, int cols) {
                a.onEmbeddings(x, rows, cols);
                b.onEmbeddings(x, rows, cols);
            }
        };
    }
}
