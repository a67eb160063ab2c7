package io.falconq.jobs.intquant;

import io.falconq.core.calib.LinearRole;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.core.intquant.QuantizedLinear;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;
import io.falconq.core.parallel.WorkerPool;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.LayerPart;
import io.falconq.runtime.LayerState;
import io.falconq.runtime.LayerWeights;
import io.falconq.runtime.Tap;
import io.falconq.runtime.TapListener;
import io.falconq.runtime.TensorFloats;
import io.falconq.runtime.kernel.DenseWeightMatrix;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One decoder layer while the job quantizes it: what a method reads (the calibration sequences entering the layer,
 * through the already-quantized earlier layers; the layer's float weights), what it may change (working float
 * copies of the linears and of the norm gains, for AWQ's scales) and what it produces (the quantized linears). The
 * layer is run through the runtime's own forward pass ({@link FalconH1Forward#runLayer}) part by part over every
 * sequence, with the weights quantized so far ({@link #weights()}).
 */
public final class LayerWork {
    private final int layer;
    private final FalconH1Config config;
    private final HfCheckpoint checkpoint;
    private final FalconH1Forward forward;
    private final LayerState state;
    private final IntQuantScheme scheme;
    private final SequenceStore input;
    private final SequenceStore output;
    private final SequenceStore stage;
    private final int sequences;
    private final int tokens;
    private LayerWeights weights;
    private final Map<LinearRole, float[]> linears = new EnumMap<>(LinearRole.class);
    /** The layer's finished linears, already packed into their four GPTQ tensors (bits/8 bytes per weight). */
    private final List<GptqFolderWriter.TensorBytes> packed = new java.util.ArrayList<>();
    private final Map<TensorRole, float[]> norms = new EnumMap<>(TensorRole.class);
    private final Map<TensorRole, float[]> replacedNorms = new LinkedHashMap<>();
    /** One sequence's residual and staged activations, reused by every {@link #runAll}. */
    private final float[] residual;
    private final float[] staged;
    private final JobPhases phases;
    private final Set<LinearRole> unquantized;
    private int finished;

    LayerWork(int layer, FalconH1Config config, HfCheckpoint checkpoint, FalconH1Forward forward, LayerState state,
              IntQuantScheme scheme, LayerWeights weights, SequenceStore input, SequenceStore output,
              SequenceStore stage, int sequences, int tokens) {
        this(layer, config, checkpoint, forward, state, scheme, weights, input, output, stage, sequences, tokens,
                new JobPhases(), Set.of());
    }

    /**
     * {@code phases}: where the time of this layer is charged (the job's one split); {@code unquantized}: the linears
     * a method leaves in float ({@link #keepsFloat}).
     */
    LayerWork(int layer, FalconH1Config config, HfCheckpoint checkpoint, FalconH1Forward forward, LayerState state,
              IntQuantScheme scheme, LayerWeights weights, SequenceStore input, SequenceStore output,
              SequenceStore stage, int sequences, int tokens, JobPhases phases, Set<LinearRole> unquantized) {
        this.phases = phases;
        this.unquantized = unquantized;
        this.layer = layer;
        this.config = config;
        this.checkpoint = checkpoint;
        this.forward = forward;
        this.state = state;
        this.scheme = scheme;
        this.weights = weights;
        this.input = input;
        this.output = output;
        this.stage = stage;
        this.sequences = sequences;
        this.tokens = tokens;
        this.residual = new float[sequences > 0 ? tokens * config.hiddenSize() : 0];
        this.staged = new float[sequences > 0 ? tokens * stage.width() : 0];
    }

    public int layer() {
        return layer;
    }

    public FalconH1Config config() {
        return config;
    }

    public IntQuantScheme scheme() {
        return scheme;
    }

    public FalconH1Forward forward() {
        return forward;
    }

    public WorkerPool pool() {
        return forward.pool();
    }

    /** Calibration sequences and tokens per sequence. */
    public int sequences() {
        return sequences;
    }

    public int tokens() {
        return tokens;
    }

    /** The weights the layer runs with now: the model's, with every linear quantized so far replaced. */
    public LayerWeights weights() {
        return weights;
    }

    /** Residual stream entering this layer for sequence {@code seq} ({@code tokens × hidden}) into {@code dst}. */
    public void readInput(int seq, float[] dst) {
        input.read(seq, dst);
    }

    /** A fresh per-sequence state of this layer (attention cache, conv and SSM state), for runs of one sequence. */
    public LayerState freshState() {
        state.reset();
        return state;
    }

    /** The working float copy of a linear's weight, {@code (out, in)} as stored in the checkpoint; mutable. */
    public float[] linear(LinearRole role) {
        return linears.computeIfAbsent(role, r -> TensorFloats.decode(checkpoint.view(r.hfModulePath(layer) + ".weight")));
    }

    /** The working float copy of a norm gain (input_layernorm, pre_ff_layernorm or mamba.norm); mutable. */
    public float[] norm(TensorRole role) {
        return norms.computeIfAbsent(role, r -> TensorFloats.decode(checkpoint.view(r.hfName(layer))));
    }

    /**
     * Records a changed norm gain: the value is rounded to the checkpoint's stored dtype (that is what the written
     * folder will hold) and the rounded values are returned, for the caller to compensate in the consumers.
     */
    public float[] replaceNorm(TensorRole role, float[] gain) {
        float[] stored = StoredDtype.roundLike(checkpoint.view(role.hfName(layer)), gain);
        replacedNorms.put(role, stored);
        norms.put(role, stored);
        weights = weights.withNorms(role == TensorRole.ATTN_NORM ? stored : null,
                role == TensorRole.SSM_NORM ? stored : null, role == TensorRole.FFN_NORM ? stored : null);
        return stored;
    }

    Map<TensorRole, float[]> replacedNorms() {
        return replacedNorms;
    }

    /** Whether the job leaves this linear unquantized: a method calls {@link #keepFloat} instead of quantizing it. */
    public boolean keepsFloat(LinearRole role) {
        return unquantized.contains(role);
    }

    /**
     * Leaves a linear unquantized: its working float copy (AWQ's scales included), rounded to the checkpoint's
     * stored dtype, is written under its own name, and the layer runs with those values from now on.
     */
    public void keepFloat(LinearRole role) {
        try (var scope = phases.enter(JobPhases.Phase.WRITE)) {
            String name = role.hfModulePath(layer) + ".weight";
            TensorView like = checkpoint.view(name);
            float[] stored = StoredDtype.roundLike(like, linear(role));
            packed.add(GptqFolderWriter.storedLike(name, like, stored));
            linears.remove(role);
            weights = weights.with(role, DenseWeightMatrix.wrapFloats(role.hfModulePath(layer),
                    Math.toIntExact(like.shape()[0]), Math.toIntExact(like.shape()[1]), stored));
            finished++;
        }
    }

    /** Packs a linear's quantized form for the output and runs the layer with its dequantized weight from now on. */
    public void setQuantized(LinearRole role, QuantizedLinear q) {
        if (keepsFloat(role)) {
            throw new IllegalStateException(role + " is left unquantized in this job");
        }
        try (var scope = phases.enter(JobPhases.Phase.WRITE)) {
            finished++;
            packed.addAll(GptqFolderWriter.pack(q));
            linears.remove(role);
            weights = weights.with(role, DenseWeightMatrix.wrapFloats(role.hfModulePath(layer), q.out(), q.in(),
                    q.dequantize()));
        }
    }

    /** The job's time split, for a method to charge its own work ({@link JobPhases.Phase#SOLVE}). */
    JobPhases phases() {
        return phases;
    }

    /** The packed GPTQ tensors of the linears quantized so far, by tensor name. */
    List<GptqFolderWriter.TensorBytes> packed() {
        return packed;
    }

    /** How many linears {@link #setQuantized} or {@link #keepFloat} has taken. */
    int finishedCount() {
        return finished;
    }

    /**
     * Runs parts {@code from … to} over every sequence with {@link #weights()}: each sequence's residual comes from
     * the layer input (or from the layer output when {@code from} is past the mixer, i.e. the residual after the
     * mixer that an earlier range wrote there), the range's {@link LayerPart#inputs()} come from the stage store,
     * the activations in {@code keep} go to the stage store, and the residual after the range goes to the layer
     * output when the range adds to it.
     */
    public void runAll(LayerPart from, LayerPart to, List<Tap> keep, TapListener taps) {
        boolean afterMixer = from.compareTo(LayerPart.MIXER_OUTPUT) > 0;
        boolean writesResidual = adds(from, to, LayerPart.MIXER_OUTPUT) || adds(from, to, LayerPart.MLP_OUTPUT);
        TapListener timedTaps = taps == null ? null : (tap, l, data, rows, cols) -> {
            try (var scope = phases.enter(JobPhases.Phase.STATISTICS)) {
                taps.onTap(tap, l, data, rows, cols);
            }
        };
        for (int s = 0; s < sequences; s++) {
            try (var io = phases.enter(JobPhases.Phase.SPILL_IO)) {
                (afterMixer ? output : input).read(s, residual);
                if (!from.inputs().isEmpty()) {
                    stage.read(s, staged);
                }
            }
            try (var fw = phases.enter(JobPhases.Phase.FORWARD)) {
                int off = 0;
                for (Tap t : from.inputs()) {
                    forward.load(t, staged, off, tokens);
                    off += tokens * forward.width(t);
                }
                StagingTaps staging = keep.isEmpty() ? null : new StagingTaps(keep, staged, tokens, forward);
                TapListener all = staging == null ? timedTaps : (tap, l, data, rows, cols) -> {
                    staging.onTap(tap, l, data, rows, cols);
                    if (timedTaps != null) {
                        timedTaps.onTap(tap, l, data, rows, cols);
                    }
                };
                forward.runLayer(layer, weights, from == LayerPart.INPUT_NORM || from == LayerPart.MIXER
                        ? freshState() : state, 0, residual, tokens, from, to, all);
            }
            try (var io = phases.enter(JobPhases.Phase.SPILL_IO)) {
                if (!keep.isEmpty()) {
                    stage.write(s, staged);
                }
                if (writesResidual) {
                    output.write(s, residual);
                }
            }
        }
    }

    private static boolean adds(LayerPart from, LayerPart to, LayerPart part) {
        return from.compareTo(part) <= 0 && to.compareTo(part) >= 0;
    }

    /** Copies the listed taps of one sequence into the stage buffer, one after the other in list order. */
    private record StagingTaps(List<Tap> keep, float[] staged, int tokens, FalconH1Forward forward)
            implements TapListener {
        @Override
        public void onTap(Tap tap, int layer, float[] data, int rows, int cols) {
            int off = 0;
            for (Tap t : keep) {
                if (t == tap) {
                    System.arraycopy(data, 0, staged, off, rows * cols);
                    return;
                }
                off += tokens * forward.width(t);
            }
        }
    }
}
