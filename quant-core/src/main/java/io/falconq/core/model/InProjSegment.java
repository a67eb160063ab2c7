package io.falconq.core.model;

/**
 * The row segments of the Mamba2 {@code in_proj} output, in order (SPEC.md §1.3; transformers
 * {@code FalconH1Mixer}: {@code gate, hidden_states_B_C, dt = split([Di, conv_dim, Hs])}, then x, B, C inside
 * {@code conv_dim}). Each segment carries its own µP multiplier ({@code ssm_multipliers[ordinal]}).
 */
public enum InProjSegment {
    /** The gate, {@code Di} rows. */
    Z,
    /** The SSM input, {@code Di} rows. */
    X,
    /** The input projection of the state, {@code G·S} rows. */
    B,
    /** The output projection of the state, {@code G·S} rows. */
    C,
    /** The time step, one row per SSM head. */
    DT;

    /** The first row of this segment. */
    public int from(FalconH1Config c) {
        int groupState = c.ssmGroups() * c.ssmStateSize();
        return switch (this) {
            case Z -> 0;
            case X -> c.ssmInnerSize();
            case B -> 2 * c.ssmInnerSize();
            case C -> 2 * c.ssmInnerSize() + groupState;
            case DT -> 2 * c.ssmInnerSize() + 2 * groupState;
        };
    }

    /** One past the last row of this segment. */
    public int to(FalconH1Config c) {
        return this == DT ? c.inProjSize() : values()[ordinal() + 1].from(c);
    }

    /** The segment's name in lower case, as HF's code names it ({@code z}, {@code x}, {@code B}, {@code C}, {@code dt}). */
    public String label() {
        return switch (this) {
            case Z -> "z";
            case X -> "x";
            case B -> "B";
            case C -> "C";
            case DT -> "dt";
        };
    }
}
