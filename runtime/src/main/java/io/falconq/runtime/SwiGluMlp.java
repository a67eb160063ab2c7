package io.falconq.runtime;

import io.falconq.core.parallel.WorkerPool;
import io.falconq.runtime.kernel.Exp;
import io.falconq.runtime.kernel.MatMul;
import io.falconq.runtime.kernel.VectorOps;

import static io.falconq.runtime.TapListener.emit;

/**
 * The MLP of a decoder layer ({@code FalconH1MLP.forward} of the reference):
 * {@code down(up(x) * silu(gate(x) * gate_multiplier)) * down_multiplier}, in two steps so a caller can stop at the
 * activations ({@link LayerPart#MLP_HIDDEN}). Owns its work buffers, grown on demand.
 */
final class SwiGluMlp {
    private final Multipliers m;
    private final WorkerPool pool;
    private final MatMul mm;
    private final int hidden;
    private final int ffn;

    private int rowCapacity;
    private float[] gate;       // (T, F), then the activations
    private float[] up;         // (T, F)
    private float[] out;        // (T, H)

    SwiGluMlp(int hidden, int ffn, Multipliers m, WorkerPool pool, MatMul mm) {
        this.m = m;
        this.pool = pool;
        this.mm = mm;
        this.hidden = hidden;
        this.ffn = ffn;
    }

    void ensureRows(int cap) {
        if (cap > rowCapacity) {
            gate = new float[cap * ffn];
            up = new float[cap * ffn];
            out = new float[cap * hidden];
            rowCapacity = cap;
        }
    }

    /** The activations (T, F): down's input, {@link Tap#MLP_ACT}. */
    float[] activations() {
        return gate;
    }

    /** y = up(x) * silu(gate(x) * gate_multiplier) for the n rows of {@code normed} (T, H). */
    void activate(int layer, LayerWeights lw, float[] normed, int n, TapListener taps) {
        mm.multiply(normed, n, lw.gate(), gate);
        mm.multiply(normed, n, lw.up(), up);
        float gm = m.mlpGate();
        TokenRows.forEach(pool, n, (t0, t1, worker) -> Exp.swiglu(gate, up, t0 * ffn, (t1 - t0) * ffn, gm));
        emit(taps, Tap.MLP_ACT, layer, gate, n, ffn);
    }

    /** down(y) * down_multiplier (T, H), {@link Tap#MLP_OUT}. */
    float[] down(int layer, LayerWeights lw, int n, TapListener taps) {
        mm.multiply(gate, n, lw.down(), out);
        VectorOps.scaleUnlessOne(out, n * hidden, m.mlpDown());
        emit(taps, Tap.MLP_OUT, layer, out, n, hidden);
        return out;
    }
}
