package io.falconq.calib;

import java.util.HashMap;
import java.util.Map;

/**
 * Calibration statistics for integer quantization (GPTQ, AWQ, clip): per layer and per distinct linear input
 * ({@link LinearRole.InputGroup}), the importance statistics and, when asked, the GPTQ Hessian. Roles that share an
 * input (q/k/v/ssm_in; gate/up) are recorded once, from the first role of the group, so the Hessian work is not
 * repeated. The LM head's input is not recorded (it stays 16-bit in the GPTQ layout).
 *
 * <p>AWQ needs raw activations too, depending on the loss its search uses ({@link AwqSamples}): for
 * {@link AwqSamples#OUTPUT} up to {@value #EMBEDDING_SAMPLE_SEQUENCES} whole sequences of the residual stream
 * entering layer 0 ({@link #embeddingSample}), from which AWQ runs the float network for its downstream loss
 * (ctx · hidden floats each); for {@link AwqSamples#BLOCK} two samples per layer for AutoAWQ's block-output losses,
 * up to {@value #FFN_SAMPLE_ROWS} token rows of the FFN input ({@link TokenSample}) and up to
 * {@value #MIXER_SAMPLE_SEQUENCES} whole sequences of the mixer input ({@link SequenceSample}), i.e.
 * 4096 · hidden + 8 · ctx · hidden floats per layer (32 MB per layer at hidden 1024, ctx 512).
 */
public final class LinearInputStats implements LinearInputObserver {
    private final boolean hessians;
    private final AwqSamples awqSamples;
    private final Map<Key, ImportanceStats> stats = new HashMap<>();
    private final Map<Key, HessianAccumulator> hessian = new HashMap<>();
    private final Map<Integer, TokenSample> ffnSample = new HashMap<>();
    private final Map<Integer, SequenceSample> mixerSample = new HashMap<>();
    private SequenceSample embeddingSample;

    /** Token rows of the FFN input kept (per layer) when Hessians are collected, for AWQ's MLP-output loss. */
    public static final int FFN_SAMPLE_ROWS = 4096;
    /** Whole sequences of the mixer input (input_layernorm output) kept per layer, for AWQ's mixer-output loss. */
    public static final int MIXER_SAMPLE_SEQUENCES = 8;
    /**
     * Whole sequences of the residual stream entering layer 0 kept for AWQ's downstream loss (the float network is
     * run from them through the layers after a quantized block): ctx · hidden floats each.
     */
    public static final int EMBEDDING_SAMPLE_SEQUENCES = 4;

    private record Key(int layer, LinearRole.InputGroup group) {
    }

    /** Which raw activations AWQ keeps, by the loss its scale search will use. */
    public enum AwqSamples {
        /** None (RTN, clip, GPTQ). */
        NONE,
        /** Calibration sequences entering layer 0, for the downstream (output-distribution) loss. */
        OUTPUT,
        /** Per-layer FFN-token and mixer-sequence samples, for AutoAWQ's block-output losses. */
        BLOCK
    }

    /** Importance statistics, and Hessians if {@code hessians}; no activation samples (GPTQ does not use them). */
    public LinearInputStats(boolean hessians) {
        this(hessians, AwqSamples.NONE);
    }

    /** As {@link #LinearInputStats(boolean, AwqSamples)}, with {@link AwqSamples#OUTPUT} when {@code awqSamples}. */
    public LinearInputStats(boolean hessians, boolean awqSamples) {
        this(hessians, awqSamples ? AwqSamples.OUTPUT : AwqSamples.NONE);
    }

    /**
     * @param hessians   collect the GPTQ/AWQ Hessians
     * @param awqSamples which AWQ activation samples to keep besides (needs {@code hessians} unless NONE)
     */
    public LinearInputStats(boolean hessians, AwqSamples awqSamples) {
        if (awqSamples != AwqSamples.NONE && !hessians) {
            throw new IllegalArgumentException("AWQ samples are collected with the Hessians");
        }
        this.hessians = hessians;
        this.awqSamples = awqSamples;
    }

    @Override
    public void onLinearInput(int layer, LinearRole role, float[] x, int rows, int cols) {
        if (role == LinearRole.OUTPUT || role != representative(role.inputGroup())) {
            return;
        }
        Key k = new Key(layer, role.inputGroup());
        stats.computeIfAbsent(k, kk -> new ImportanceStats(role.ggufWeightName(layer), cols)).add(x, rows, cols);
        if (hessians) {
            hessian.computeIfAbsent(k, kk -> new HessianAccumulator(cols)).add(x, rows, cols);
            if (awqSamples != AwqSamples.BLOCK) {
                return;
            }
            if (role.inputGroup() == LinearRole.InputGroup.FFN_NORM) {
                ffnSample.computeIfAbsent(layer, kk -> new TokenSample(FFN_SAMPLE_ROWS, cols, layer)).add(x, rows, cols);
            } else if (role.inputGroup() == LinearRole.InputGroup.ATTN_NORM) {
                mixerSample.computeIfAbsent(layer, kk -> new SequenceSample(MIXER_SAMPLE_SEQUENCES, cols, layer))
                        .add(x, rows, cols);
            }
        }
    }

    @Override
    public void onEmbeddings(float[] x, int rows, int cols) {
        if (awqSamples != AwqSamples.OUTPUT) {
            return;
        }
        if (embeddingSample == null) {
            embeddingSample = new SequenceSample(EMBEDDING_SAMPLE_SEQUENCES, cols, -1);
        }
        embeddingSample.add(x, rows, cols);
    }

    /** Whole calibration sequences of the residual stream entering layer 0, or null if not collected. */
    public SequenceSample embeddingSample() {
        return embeddingSample;
    }

    /** The role whose call records a group's input. */
    static LinearRole representative(LinearRole.InputGroup g) {
        return switch (g) {
            case ATTN_NORM -> LinearRole.ATTN_Q;
            case ATTN_HEADS -> LinearRole.ATTN_OUTPUT;
            case SSM_Y -> LinearRole.SSM_OUT;
            case FFN_NORM -> LinearRole.FFN_GATE;
            case FFN_ACT -> LinearRole.FFN_DOWN;
            case FINAL_NORM -> LinearRole.OUTPUT;
        };
    }

    /** Statistics of the input of {@code role} at {@code layer}, or null if never seen. */
    public ImportanceStats stats(int layer, LinearRole role) {
        return stats.get(new Key(layer, role.inputGroup()));
    }

    /** Hessian of the input of {@code role} at {@code layer}, or null if not collected. */
    public HessianAccumulator hessian(int layer, LinearRole role) {
        return hessian.get(new Key(layer, role.inputGroup()));
    }

    /** A uniform sample of the FFN input rows (pre_ff_layernorm output) of {@code layer}, or null if not collected. */
    public TokenSample ffnSample(int layer) {
        return ffnSample.get(layer);
    }

    /** Whole calibration sequences of the mixer input of {@code layer}, or null if not collected. */
    public SequenceSample mixerSample(int layer) {
        return mixerSample.get(layer);
    }

    public boolean hasHessians() {
        return hessians;
    }
}
