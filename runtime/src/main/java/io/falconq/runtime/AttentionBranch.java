package io.falconq.runtime;

import io.falconq.core.model.FalconH1Config;
import io.falconq.core.parallel.WorkerPool;
import io.falconq.runtime.kernel.AttentionKernel;
import io.falconq.runtime.kernel.MatMul;
import io.falconq.runtime.kernel.VectorOps;

import static io.falconq.runtime.TapListener.emit;

/**
 * The attention branch of a decoder layer ({@code FalconH1Attention.forward} of the reference): q/k/v projections
 * (k times key_multiplier), RoPE, the KV cache of the {@link LayerState}, causal grouped-query attention, and o_proj.
 * Owns its work buffers ((rows, width) row-major, grown on demand) and per-worker score scratch. Not thread-safe,
 * like the {@link FalconH1Forward} that owns it.
 */
final class AttentionBranch {
    /** Query rows per attention task. */
    private static final int QUERIES_PER_TASK = 16;

    private final FalconH1Config c;
    private final Multipliers m;
    private final WorkerPool pool;
    private final MatMul mm;
    private final Rope rope;
    private final float attentionScale;
    private final int hidden;
    private final int qSize;
    private final int kvSize;
    private final int headDim;

    private int rowCapacity;
    private float[] q;          // (T, nh·hd)
    private float[] k;          // (T, nkv·hd)
    private float[] v;          // (T, nkv·hd)
    private float[] heads;      // (T, nh·hd)
    private float[] out;        // (T, H)
    private final float[][] scores;   // per worker

    AttentionBranch(FalconH1Config c, Multipliers m, WorkerPool pool, MatMul mm) {
        this.c = c;
        this.m = m;
        this.pool = pool;
        this.mm = mm;
        this.rope = new Rope(c.headDim(), c.ropeTheta());
        this.attentionScale = (float) Math.pow(c.headDim(), -0.5);
        this.hidden = c.hiddenSize();
        this.qSize = c.qSize();
        this.kvSize = c.kvSize();
        this.headDim = c.headDim();
        this.scores = new float[pool.threads()][];
    }

    void ensureRows(int cap) {
        if (cap > rowCapacity) {
            q = new float[cap * qSize];
            k = new float[cap * kvSize];
            v = new float[cap * kvSize];
            heads = new float[cap * qSize];
            out = new float[cap * hidden];
            rowCapacity = cap;
        }
    }

    /** The attended heads (T, nh·hd): o_proj's input, {@link Tap#ATTN_HEADS}. */
    float[] heads() {
        return heads;
    }

    /**
     * in → attended heads for n tokens at positions {@code pos0 ..}, {@code in} being the layer's input norm times
     * attention_in_multiplier (T, H); their keys and values go into the state's cache.
     */
    void attend(int layer, LayerWeights lw, LayerState st, int pos0, float[] in, int n, TapListener taps) {
        rope.prepare(pos0 + n);
        mm.multiply(in, n, lw.q(), q);
        mm.multiply(in, n, lw.k(), k);
        mm.multiply(in, n, lw.v(), v);
        VectorOps.scaleUnlessOne(k, n * kvSize, m.key());
        int nh = c.numHeads();
        int nkv = c.numKvHeads();
        TokenRows.forEach(pool, n, (t0, t1, worker) -> {
            for (int t = t0; t < t1; t++) {
                rope.apply(q, t * qSize, nh, pos0 + t);
                rope.apply(k, t * kvSize, nkv, pos0 + t);
            }
        });
        float[] keysT = st.keysT;
        float[] values = st.values;
        int ks = st.keyStride;
        for (int t = 0; t < n; t++) {
            int pos = pos0 + t;
            for (int g = 0; g < nkv; g++) {
                int kb = g * headDim * ks + pos;
                for (int dd = 0; dd < headDim; dd++) {
                    keysT[kb + dd * ks] = k[t * kvSize + g * headDim + dd];
                }
            }
            System.arraycopy(v, t * kvSize, values, pos * kvSize, kvSize);
        }
        int blocks = (n + QUERIES_PER_TASK - 1) / QUERIES_PER_TASK;
        int rep = c.gqaGroupSize();
        int needed = AttentionKernel.scratchSize(pos0 + n);
        pool.forEach(nh * blocks, (task, worker) -> {
            int head = task / blocks;
            int t0 = (task % blocks) * QUERIES_PER_TASK;
            int t1 = Math.min(n, t0 + QUERIES_PER_TASK);
            int g = head / rep;
            float[] sc = scores[worker];
            if (sc == null || sc.length < needed) {
                sc = new float[Math.max(needed, 64)];
                scores[worker] = sc;
            }
            AttentionKernel.attend(q, qSize, head * headDim, t0, t1, pos0, keysT, g * headDim * ks, ks, values,
                    kvSize, g * headDim, headDim, attentionScale, heads, qSize, head * headDim, sc);
        });
        emit(taps, Tap.ATTN_HEADS, layer, heads, n, qSize);
    }

    /** a = o_proj(attn) * attention_out_multiplier: the branch output (T, H), {@link Tap#ATTN_BRANCH}. */
    float[] outProj(int layer, LayerWeights lw, int n, TapListener taps) {
        mm.multiply(heads, n, lw.o(), out);
        VectorOps.scaleUnlessOne(out, n * hidden, m.attentionOut());
        emit(taps, Tap.ATTN_BRANCH, layer, out, n, hidden);
        return out;
    }
}
