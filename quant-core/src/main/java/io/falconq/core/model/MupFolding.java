package io.falconq.core.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The µP multipliers of a Falcon-H1 config folded into weights, per {@link TensorRole}, exactly as llama.cpp's
 * converter does it ({@code FalconH1Model.modify_tensors}, conversion/falcon_h1.py; GGUF-NOTES.md §3.3): every weight
 * row is multiplied in float32 by each factor in turn, a Python float rounded to float32 first (torch's
 * tensor-times-scalar on a float32 tensor), so {@code k_proj} becomes {@code (w·f32(key))·f32(attn_in)}, not
 * {@code w·f32(key·attn_in)}.
 *
 * <p>Rows are those of the HF {@code (out, in)} weight, which are GGUF rows too ({@code ne[1]}). Only {@code in_proj}
 * has more than one segment: its rows are the named slices z, x, B, C, dt, each scaled by {@code ssm_in_multiplier}
 * then by its {@code ssm_multipliers} entry.
 */
public final class MupFolding {
    /**
     * Rows {@code [fromRow, toRow)} are multiplied by {@code factors[0]}, then {@code factors[1]}, … in float32.
     *
     * @param name the slice, e.g. {@code "z"} for the gate rows of in_proj, or {@code "all"}
     */
    public record RowSegment(String name, long fromRow, long toRow, float[] factors) {
        public RowSegment {
            factors = factors.clone();
        }

        @Override
        public float[] factors() {
            return factors.clone();
        }
    }

    private final TensorRole role;
    private final List<RowSegment> segments;
    private final float[][] factorsBySegment;

    private MupFolding(TensorRole role, List<RowSegment> segments) {
        this.role = role;
        this.segments = List.copyOf(segments);
        this.factorsBySegment = new float[segments.size()][];
        for (int i = 0; i < segments.size(); i++) {
            factorsBySegment[i] = segments.get(i).factors();
        }
    }

    /** The folding for one role; roles without a multiplier get an identity folding. */
    public static MupFolding of(TensorRole role, FalconH1Config c) {
        long rows = role.hfShape(c)[0];
        double[] mlp = c.mlpMultipliers();
        return switch (role) {
            case FFN_DOWN -> whole(role, rows, mlp[1]);
            case FFN_GATE -> whole(role, rows, mlp[0]);
            case ATTN_K -> whole(role, rows, c.keyMultiplier(), c.attentionInMultiplier());
            case ATTN_Q, ATTN_V -> whole(role, rows, c.attentionInMultiplier());
            case ATTN_OUT -> whole(role, rows, c.attentionOutMultiplier());
            case SSM_OUT -> whole(role, rows, c.ssmOutMultiplier());
            case SSM_IN -> inProj(c);
            case OUTPUT -> whole(role, rows, c.lmHeadMultiplier());
            case TOKEN_EMBD -> whole(role, rows, c.embeddingMultiplier());
            default -> new MupFolding(role, List.of());
        };
    }

    private static MupFolding whole(TensorRole role, long rows, double... factors) {
        return new MupFolding(role, List.of(new RowSegment("all", 0, rows, toFloat(factors))));
    }

    /** in_proj rows z, x, B, C, dt ({@link InProjSegment}), each scaled by ssm_in then its own multiplier. */
    private static MupFolding inProj(FalconH1Config c) {
        double[] m = c.ssmMultipliers();
        double in = c.ssmInMultiplier();
        List<RowSegment> segments = new ArrayList<>();
        for (InProjSegment s : InProjSegment.values()) {
            segments.add(new RowSegment(s.label(), s.from(c), s.to(c), toFloat(in, m[s.ordinal()])));
        }
        return new MupFolding(TensorRole.SSM_IN, segments);
    }

    private static float[] toFloat(double... factors) {
        float[] f = new float[factors.length];
        for (int i = 0; i < factors.length; i++) {
            f[i] = (float) factors[i];
        }
        return f;
    }

    public TensorRole role() {
        return role;
    }

    public List<RowSegment> segments() {
        return segments;
    }

    public boolean isIdentity() {
        return segments.isEmpty();
    }

    /** Multiplies {@code values[off, off+n)}, which hold HF row {@code row}, by that row's factors. */
    public void applyToRow(long row, float[] values, int off, int n) {
        for (int s = 0; s < factorsBySegment.length; s++) {
            RowSegment seg = segments.get(s);
            if (row >= seg.fromRow() && row < seg.toRow()) {
                for (float f : factorsBySegment[s]) {
                    for (int i = off, end = off + n; i < end; i++) {
                        values[i] = values[i] * f;
                    }
                }
                return;
            }
        }
    }
}
