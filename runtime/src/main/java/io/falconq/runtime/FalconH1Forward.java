package io.falconq.runtime;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.model.FalconH1Config;
import io.falconq.runtime.kernel.ActivationQuantizer;
import io.falconq.runtime.kernel.AttentionKernel;
import io.falconq.runtime.kernel.Exp;
import io.falconq.runtime.kernel.KernelMode;
import io.falconq.runtime.kernel.MatMul;
import io.falconq.runtime.kernel.ScanKernel;
import io.falconq.runtime.kernel.VectorOps;
import io.falconq.runtime.kernel.WeightMatrix;
import io.falconq.parallel.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Falcon-H1 forward pass (SPEC.md §1.3; {@code ../shared/reference/falcon_h1.py} is the PyTorch original, and
 * every step below names the reference line it mirrors).
 *
 * <p>One method serves both modes: {@link #forward} runs n tokens starting at the state's position. A window of
 * T tokens from a fresh state (evaluation, calibration) does every linear layer as one matrix–matrix product over
 * the T rows; generation calls it with n = 1, where each linear layer is a matrix–vector product and the state
 * carries the KV cache, the conv inputs and the SSM state between calls. A prompt may be run as one window and
 * continued token by token.
 *
 * <p>Work is split into tasks that are a fixed function of the shapes (panels of output features, blocks of rows,
 * heads), never of the thread count, so results are bit-identical for any number of threads.
 *
 * <p>Not thread-safe: one instance runs one forward pass at a time (it owns its work buffers).
 */
public final class FalconH1Forward implements AutoCloseable {
    private static final VectorSpecies<Float> F = KernelMode.FLOATS;
    private static final int L = F.length();
    /** Token rows per task for the element-wise parts. */
    private static final int ROWS_PER_TASK = 8;
    /** Query rows per attention task. */
    private static final int QUERIES_PER_TASK = 16;

    private final FalconH1Model model;
    private final FalconH1Config c;
    private final FalconH1Weights w;
    private final Multipliers m;
    private final WorkerPool pool;
    private final boolean ownsPool;
    private final MatMul mm;
    private final Rope rope;
    private final float attentionScale;
    // sizes
    private final int hidden;
    private final int qSize;
    private final int kvSize;
    private final int headDim;
    private final int di;
    private final int convDim;
    private final int inProj;
    private final int ssmHeads;
    private final int ssmHeadDim;
    private final int groups;
    private final int stateSize;
    private final int convKernel;
    private final int ffn;
    private final int vocab;
    private final float eps;

    // work buffers, (rows, width) row-major, grown on demand
    private int rowCapacity;
    private int logitRowCapacity;
    private float[] h;          // (T, H) residual stream
    private float[] normed;     // (T, H)
    private float[] scaled;     // (T, H) branch input × multiplier
    private float[] zxbcdt;     // (T, d_in_proj)
    private float[] xbc;        // (T, conv_dim)
    private float[] dt;         // (T, Hs)
    private float[] y;          // (T, Di)
    private float[] q;          // (T, nh·hd)
    private float[] k;          // (T, nkv·hd)
    private float[] v;          // (T, nkv·hd)
    private float[] attn;       // (T, nh·hd)
    private float[] mambaOut;   // (T, H)
    private float[] attnOut;    // (T, H)
    private float[] gate;       // (T, F)
    private float[] up;         // (T, F)
    private float[] mlpOut;     // (T, H)
    private float[] logits;     // (T', V)
    private final float[][] scores;   // per worker, attention scores

    public FalconH1Forward(FalconH1Model model, int threads) {
        this(model, new WorkerPool(threads), true, ActivationQuantizer.Mode.F32);
    }

    /** {@code activations}: float32, or rounded per linear layer as llama.cpp does ({@link ActivationQuantizer}). */
    public FalconH1Forward(FalconH1Model model, int threads, ActivationQuantizer.Mode activations) {
        this(model, new WorkerPool(threads), true, activations);
    }

    public FalconH1Forward(FalconH1Model model, WorkerPool pool) {
        this(model, pool, false, ActivationQuantizer.Mode.F32);
    }

    private FalconH1Forward(FalconH1Model model, WorkerPool pool, boolean ownsPool,
                            ActivationQuantizer.Mode activations) {
        this.model = model;
        this.c = model.config();
        this.w = model.weights();
        this.m = model.multipliers();
        this.pool = pool;
        this.ownsPool = ownsPool;
        this.mm = new MatMul(pool, activations);
        this.rope = new Rope(c.headDim(), c.ropeTheta());
        this.attentionScale = (float) Math.pow(c.headDim(), -0.5);
        this.hidden = c.hiddenSize();
        this.qSize = c.qSize();
        this.kvSize = c.kvSize();
        this.headDim = c.headDim();
        this.di = c.ssmInnerSize();
        this.convDim = c.convDim();
        this.inProj = c.inProjSize();
        this.ssmHeads = c.ssmHeads();
        this.ssmHeadDim = c.ssmHeadDim();
        this.groups = c.ssmGroups();
        this.stateSize = c.ssmStateSize();
        this.convKernel = c.convKernel();
        this.ffn = c.intermediateSize();
        this.vocab = c.vocabSize();
        this.eps = (float) c.rmsNormEps();
        this.scores = new float[pool.threads()][];
    }

    public FalconH1Model model() {
        return model;
    }

    public int threads() {
        return pool.threads();
    }

    /** The workers this forward pass runs on; free for other parallel work between forward calls. */
    public WorkerPool pool() {
        return pool;
    }

    /** A fresh, empty sequence state for up to {@code capacity} tokens. */
    public InferenceState newState(int capacity) {
        return new InferenceState(c, capacity);
    }

    /** Logits of one token (a copy), advancing the state by one position: the generation step. */
    public float[] forwardToken(InferenceState state, int token) {
        float[] out = forward(state, new int[] {token}, 0, 1, 0, null);
        return java.util.Arrays.copyOf(out, vocab);
    }

    /**
     * Runs {@code ids[off .. off+n)} at positions {@code state.position() ..} and advances the state: the
     * embeddings, every layer ({@link #runLayer}) and the head ({@link #head}).
     *
     * @param logitsFrom first row (0-based within the n tokens) whose logits are computed; rows before it skip the
     *                   final norm and lm_head (llama.cpp's protocol scores only the second half of a chunk)
     * @param taps       receives intermediate activations, or null
     * @return logits {@code ((n − logitsFrom) × V)}, row-major, in a buffer that the next call overwrites
     */
    public float[] forward(InferenceState state, int[] ids, int off, int n, int logitsFrom, TapListener taps) {
        if (n < 1) {
            throw new IllegalArgumentException("no tokens");
        }
        if (logitsFrom < 0 || logitsFrom > n) {
            throw new IllegalArgumentException("logitsFrom " + logitsFrom + " outside [0, " + n + "]");
        }
        int pos0 = state.position();
        if (pos0 + n > state.capacity()) {
            throw new IllegalArgumentException("sequence of " + (pos0 + n) + " tokens exceeds the state capacity "
                    + state.capacity());
        }
        ensureRows(n, n - logitsFrom);
        embed(ids, off, n, h, taps);
        for (int layer = 0; layer < c.numLayers(); layer++) {
            runLayer(layer, w.layers().get(layer), state.layer(layer), pos0, h, n, LayerPart.INPUT_NORM,
                    LayerPart.MLP_OUTPUT, taps);
        }
        state.advance(n);
        return head(h, n, logitsFrom, taps);
    }

    /** {@code residual[0 .. n·H) = embed_tokens(ids) · embedding_multiplier}                  (FalconH1Model.forward) */
    public void embed(int[] ids, int off, int n, float[] residual, TapListener taps) {
        embed(w.embeddings(), ids, off, n, residual, taps);
    }

    /** {@link #embed(int[], int, int, float[], TapListener)} from other embeddings of the same shape. */
    public void embed(WeightMatrix embeddings, int[] ids, int off, int n, float[] residual, TapListener taps) {
        for (int t = 0; t < n; t++) {
            int id = ids[off + t];
            if (id < 0 || id >= vocab) {
                throw new InvalidInputException("token id " + id + " outside the vocabulary [0, " + vocab + ")");
            }
            embeddings.decodeRow(id, residual, t * hidden);
        }
        scaleIfNeeded(residual, n * hidden, m.embedding());
        emit(taps, Tap.EMBEDDINGS, -1, residual, n, hidden);
    }

    /**
     * Runs parts {@code from … to} of decoder layer {@code layer} with the weights {@code lw} (the model's own, or
     * any others of the same shapes) over n tokens at positions {@code pos0 ..} of the sequence whose layer state is
     * {@code st}, updating {@code residual} (n × H, row-major) in place where a part adds to it. A range that starts
     * after {@link LayerPart#INPUT_NORM} reads {@link LayerPart#inputs() from.inputs()} from this forward's buffers,
     * as the previous part left them or as {@link #load} put them. The state advances nothing: the caller owns the
     * position ({@link #forward} advances it after the last layer).
     */
    public void runLayer(int layer, LayerWeights lw, LayerState st, int pos0, float[] residual, int n, LayerPart from,
                         LayerPart to, TapListener taps) {
        if (from.compareTo(to) > 0) {
            throw new IllegalArgumentException(from + " comes after " + to);
        }
        if (pos0 + n > st.capacity()) {
            throw new IllegalArgumentException("sequence of " + (pos0 + n) + " tokens exceeds the state capacity "
                    + st.capacity());
        }
        ensureRows(n, 0);
        for (LayerPart part : LayerPart.values()) {
            if (part.compareTo(from) < 0 || part.compareTo(to) > 0) {
                continue;
            }
            switch (part) {
                // h_norm = input_layernorm(x): one norm feeds both branches                    (DecoderLayer.forward)
                case INPUT_NORM -> {
                    rmsNormRows(residual, normed, n, lw.inputNorm());
                    emit(taps, Tap.INPUT_NORM, layer, normed, n, hidden);
                }
                case MIXER -> {
                    rope.prepare(pos0 + n);
                    mamba(layer, lw, st, n, taps);
                    attention(layer, lw, st, pos0, n, taps);
                }
                // x = x + (m + a)
                case MIXER_OUTPUT -> {
                    mixerOutput(layer, lw, n, taps);
                    forRows(n, (t0, t1, worker) -> {
                        for (int i = t0 * hidden; i < t1 * hidden; i++) {
                            residual[i] = residual[i] + (mambaOut[i] + attnOut[i]);
                        }
                    });
                    emit(taps, Tap.POST_MIXER_RESIDUAL, layer, residual, n, hidden);
                }
                case FF_NORM -> {
                    rmsNormRows(residual, normed, n, lw.preFfNorm());
                    emit(taps, Tap.PRE_FF_NORM, layer, normed, n, hidden); // gate/up input, for calibration
                }
                case MLP_HIDDEN -> mlpHidden(layer, lw, n, taps);
                case MLP_OUTPUT -> {
                    mlpOutput(lw, n);
                    emit(taps, Tap.MLP_OUT, layer, mlpOut, n, hidden);
                    forRows(n, (t0, t1, worker) -> VectorOps.addInPlace(residual, t0 * hidden, mlpOut, t0 * hidden,
                            (t1 - t0) * hidden));
                    emit(taps, Tap.LAYER_OUTPUT, layer, residual, n, hidden);
                }
            }
        }
    }

    /**
     * Puts n rows of a part's input into this forward's buffer for {@code tap}, for a {@link #runLayer} range that
     * starts at a part reading it ({@link LayerPart#inputs()}).
     */
    public void load(Tap tap, float[] src, int srcOff, int n) {
        ensureRows(n, 0);
        int width = width(tap);
        float[] dst = switch (tap) {
            case INPUT_NORM, PRE_FF_NORM -> normed;
            case ATTN_HEADS -> attn;
            case MAMBA_Y_GATED -> y;
            case MLP_ACT -> gate;
            default -> throw new IllegalArgumentException(tap + " is no part's input");
        };
        System.arraycopy(src, srcOff, dst, 0, n * width);
    }

    /** Floats per token row at {@code tap}. */
    public int width(Tap tap) {
        return switch (tap) {
            case EMBEDDINGS, INPUT_NORM, MAMBA_BRANCH, ATTN_BRANCH, POST_MIXER_RESIDUAL, PRE_FF_NORM, MLP_OUT,
                 LAYER_OUTPUT, FINAL_NORM -> hidden;
            case MAMBA_ZXBCDT -> inProj;
            case MAMBA_XBC_CONV_SILU -> convDim;
            case MAMBA_DT_SOFTPLUS -> ssmHeads;
            case MAMBA_Y_SSM_PLUS_D, MAMBA_Y_GATED -> di;
            case ATTN_HEADS -> qSize;
            case MLP_ACT -> ffn;
            case LOGITS -> vocab;
        };
    }

    /**
     * {@code logits = lm_head(final_layernorm(h)) · lm_head_multiplier} for rows {@code logitsFrom ..} of the n rows
     * of {@code residual}                                                         (FalconH1ForCausalLM.forward)
     *
     * @return logits {@code ((n − logitsFrom) × V)} in a buffer that the next call overwrites
     */
    public float[] head(float[] residual, int n, int logitsFrom, TapListener taps) {
        return head(w.lmHead(), residual, n, logitsFrom, taps);
    }

    /** {@link #head(float[], int, int, TapListener)} with another LM head of the same shape. */
    public float[] head(WeightMatrix lmHead, float[] residual, int n, int logitsFrom, TapListener taps) {
        ensureRows(n, n - logitsFrom);
        // with taps the final norm of every row is reported (the LM head's input, for calibration)
        int first = taps != null ? 0 : logitsFrom;
        int rows = n - first;
        forRows(rows, (t0, t1, worker) -> {
            for (int t = t0; t < t1; t++) {
                VectorOps.rmsNorm(residual, (first + t) * hidden, hidden, w.finalNorm(), 0, eps, normed, t * hidden);
            }
        });
        emit(taps, Tap.FINAL_NORM, -1, normed, rows, hidden);
        if (first != logitsFrom) {
            System.arraycopy(normed, (logitsFrom - first) * hidden, normed, 0, (n - logitsFrom) * hidden);
        }
        int logitRows = n - logitsFrom;
        if (logitRows > 0) {
            mm.multiply(normed, logitRows, lmHead, logits);
            scaleIfNeeded(logits, logitRows * vocab, m.lmHead());
        }
        if (taps != null && logitsFrom == 0) {
            emit(taps, Tap.LOGITS, -1, logits, logitRows, vocab);
        }
        return logits;
    }

    // ---- Mamba2 branch (FalconH1Mixer.forward) --------------------------------------------------------------

    private void mamba(int layer, LayerWeights lw, LayerState st, int n, TapListener taps) {
        // zxbcdt = in_proj(u * ssm_in_multiplier) * mup_vector
        float[] in = inputTimes(normed, n, m.ssmIn());
        mm.multiply(in, n, lw.ssmIn(), zxbcdt);
        int gs = groups * stateSize;
        // in_proj output segments z | x | B | C | dt and their ssm_multipliers (compute_mup_vector)
        int[] segmentEnd = {di, 2 * di, 2 * di + gs, 2 * di + 2 * gs, inProj};
        float[] mup = {m.ssmZ(), m.ssmX(), m.ssmB(), m.ssmC(), m.ssmDt()};
        forRows(n, (t0, t1, worker) -> {
            for (int t = t0; t < t1; t++) {
                int from = 0;
                for (int s = 0; s < segmentEnd.length; s++) {
                    if (mup[s] != 1f) {
                        VectorOps.scale(zxbcdt, t * inProj + from, segmentEnd[s] - from, mup[s]);
                    }
                    from = segmentEnd[s];
                }
            }
        });
        emit(taps, Tap.MAMBA_ZXBCDT, layer, zxbcdt, n, inProj);

        // xBC = silu(conv1d(xBC) + bias), causal, with the previous K−1 inputs from the state
        float[] convState = st.convState;
        forRows(n, (t0, t1, worker) -> causalConv(lw, convState, t0, t1));
        updateConvState(convState, n);
        emit(taps, Tap.MAMBA_XBC_CONV_SILU, layer, xbc, n, convDim);

        // dt = softplus(dt + dt_bias)
        float[] dtBias = lw.dtBias();
        for (int t = 0; t < n; t++) {
            int base = t * inProj + 2 * di + 2 * gs;
            for (int hh = 0; hh < ssmHeads; hh++) {
                dt[t * ssmHeads + hh] = VectorOps.softplus(zxbcdt[base + hh] + dtBias[hh]);
            }
        }
        emit(taps, Tap.MAMBA_DT_SOFTPLUS, layer, dt, n, ssmHeads);

        // y = ssd_sequential(x, dt, A, B, C) + D * x, one task per head (head h uses group h / (Hs/G))
        float[] ssm = st.ssmState;
        int headsPerGroup = c.ssmHeadsPerGroup();
        float[] a = lw.a();
        float[] d = lw.d();
        pool.forEach(ssmHeads, (head, worker) -> {
            int g = head / headsPerGroup;
            ScanKernel.scanHead(n, xbc, convDim, head * ssmHeadDim, di + g * stateSize, di + gs + g * stateSize,
                    dt, ssmHeads, head, a[head], d[head], ssm, head * stateSize * ssmHeadDim, ssmHeadDim, stateSize,
                    y, di, head * ssmHeadDim);
        });
        emit(taps, Tap.MAMBA_Y_SSM_PLUS_D, layer, y, n, di);

        // y = norm(y, gate) (FalconH1RMSNormGated) or y * silu(gate)
        forRows(n, (t0, t1, worker) -> gatedNorm(lw, t0, t1));
        emit(taps, Tap.MAMBA_Y_GATED, layer, y, n, di);
    }

    private void mixerOutput(int layer, LayerWeights lw, int n, TapListener taps) {
        // m = out_proj(y) * ssm_out_multiplier
        mm.multiply(y, n, lw.ssmOut(), mambaOut);
        scaleIfNeeded(mambaOut, n * hidden, m.ssmOut());
        emit(taps, Tap.MAMBA_BRANCH, layer, mambaOut, n, hidden);
        // a = o_proj(attn) * attention_out_multiplier
        mm.multiply(attn, n, lw.o(), attnOut);
        scaleIfNeeded(attnOut, n * hidden, m.attentionOut());
        emit(taps, Tap.ATTN_BRANCH, layer, attnOut, n, hidden);
    }

    /** out[t, c] = silu(bias[c] + Σ_k w[k, c] · in[t − K + 1 + k, c]), inputs before the window from the state. */
    private void causalConv(LayerWeights lw, float[] convState, int t0, int t1) {
        float[] wt = lw.convWeight();
        float[] bias = lw.convBias();
        int kk = convKernel;
        for (int t = t0; t < t1; t++) {
            int outBase = t * convDim;
            int cv = KernelMode.VECTOR ? convDim - convDim % L : 0;
            for (int ch = 0; ch < cv; ch += L) {
                FloatVector acc = FloatVector.zero(F);
                for (int j = 0; j < kk; j++) {
                    int src = t - (kk - 1) + j;
                    FloatVector x = src >= 0
                            ? FloatVector.fromArray(F, zxbcdt, src * inProj + di + ch)
                            : FloatVector.fromArray(F, convState, (kk - 1 + src) * convDim + ch);
                    acc = FloatVector.fromArray(F, wt, j * convDim + ch).fma(x, acc);
                }
                acc.add(FloatVector.fromArray(F, bias, ch)).intoArray(xbc, outBase + ch);
            }
            for (int ch = cv; ch < convDim; ch++) {
                float acc = 0f;
                for (int j = 0; j < kk; j++) {
                    int src = t - (kk - 1) + j;
                    float x = src >= 0 ? zxbcdt[src * inProj + di + ch] : convState[(kk - 1 + src) * convDim + ch];
                    acc += wt[j * convDim + ch] * x;
                }
                xbc[outBase + ch] = acc + bias[ch];
            }
            Exp.siluInPlace(xbc, outBase, convDim);
        }
    }

    /** Keeps the last K−1 pre-convolution inputs of (state ‖ this call's tokens). */
    private void updateConvState(float[] convState, int n) {
        int keep = convKernel - 1;
        if (keep == 0) {
            return;
        }
        float[] next = new float[keep * convDim];
        for (int r = 0; r < keep; r++) {
            int idx = n + r; // index in the concatenation of keep state rows and n new rows
            if (idx < keep) {
                System.arraycopy(convState, idx * convDim, next, r * convDim, convDim);
            } else {
                System.arraycopy(zxbcdt, (idx - keep) * inProj + di, next, r * convDim, convDim);
            }
        }
        System.arraycopy(next, 0, convState, 0, next.length);
    }

    private void gatedNorm(LayerWeights lw, int t0, int t1) {
        float[] norm = lw.ssmNorm();
        int groupSize = di / groups;
        for (int t = t0; t < t1; t++) {
            int yb = t * di;
            int zb = t * inProj;
            if (norm == null) {
                Exp.mulSilu(y, yb, zxbcdt, zb, di);
            } else if (!c.ssmNormBeforeGate()) {
                // h = h * silu(gate); h = h * rsqrt(mean(h²) + eps) per group; weight * h
                Exp.mulSilu(y, yb, zxbcdt, zb, di);
                for (int g = 0; g < groups; g++) {
                    VectorOps.rmsNorm(y, yb + g * groupSize, groupSize, norm, g * groupSize, eps, y, yb + g * groupSize);
                }
            } else {
                for (int g = 0; g < groups; g++) {
                    VectorOps.rmsNorm(y, yb + g * groupSize, groupSize, norm, g * groupSize, eps, y, yb + g * groupSize);
                }
                Exp.mulSilu(y, yb, zxbcdt, zb, di);
            }
        }
    }

    // ---- attention branch (FalconH1Attention.forward) -------------------------------------------------------

    private void attention(int layer, LayerWeights lw, LayerState st, int pos0, int n, TapListener taps) {
        float[] in = inputTimes(normed, n, m.attentionIn());
        mm.multiply(in, n, lw.q(), q);
        mm.multiply(in, n, lw.k(), k);
        mm.multiply(in, n, lw.v(), v);
        scaleIfNeeded(k, n * kvSize, m.key());
        int nh = c.numHeads();
        int nkv = c.numKvHeads();
        forRows(n, (t0, t1, worker) -> {
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
                    kvSize, g * headDim, headDim, attentionScale, attn, qSize, head * headDim, sc);
        });
        emit(taps, Tap.ATTN_HEADS, layer, attn, n, qSize);
    }

    // ---- MLP (FalconH1MLP.forward) -------------------------------------------------------------------------

    private void mlpHidden(int layer, LayerWeights lw, int n, TapListener taps) {
        mm.multiply(normed, n, lw.gate(), gate);
        mm.multiply(normed, n, lw.up(), up);
        float gm = m.mlpGate();
        // y = up(x) * silu(gate(x) * gate_multiplier)
        forRows(n, (t0, t1, worker) -> Exp.swiglu(gate, up, t0 * ffn, (t1 - t0) * ffn, gm));
        emit(taps, Tap.MLP_ACT, layer, gate, n, ffn);
    }

    private void mlpOutput(LayerWeights lw, int n) {
        // down(y) * down_multiplier
        mm.multiply(gate, n, lw.down(), mlpOut);
        scaleIfNeeded(mlpOut, n * hidden, m.mlpDown());
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface RowTask {
        void run(int t0, int t1, int worker);
    }

    private void forRows(int n, RowTask body) {
        int tasks = (n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        pool.forEach(tasks, (task, worker) -> body.run(task * ROWS_PER_TASK, Math.min(n, (task + 1) * ROWS_PER_TASK), worker));
    }

    private void rmsNormRows(float[] src, float[] dst, int n, float[] weight) {
        forRows(n, (t0, t1, worker) -> {
            for (int t = t0; t < t1; t++) {
                VectorOps.rmsNorm(src, t * hidden, hidden, weight, 0, eps, dst, t * hidden);
            }
        });
    }

    /** {@code x · mult} into the scratch buffer, or x itself when the multiplier is 1. */
    private float[] inputTimes(float[] x, int n, float mult) {
        if (mult == 1f) {
            return x;
        }
        VectorOps.scaleInto(x, 0, mult, scaled, 0, n * hidden);
        return scaled;
    }

    private void scaleIfNeeded(float[] x, int count, float mult) {
        if (mult != 1f) {
            VectorOps.scale(x, 0, count, mult);
        }
    }

    private static void emit(TapListener taps, Tap tap, int layer, float[] data, int rows, int cols) {
        if (taps != null) {
            taps.onTap(tap, layer, data, rows, cols);
        }
    }

    private void ensureRows(int n, int logitRows) {
        if (n > rowCapacity) {
            int cap = Math.max(n, 1);
            h = new float[cap * hidden];
            normed = new float[cap * hidden];
            scaled = new float[cap * hidden];
            zxbcdt = new float[cap * inProj];
            xbc = new float[cap * convDim];
            dt = new float[cap * ssmHeads];
            y = new float[cap * di];
            q = new float[cap * qSize];
            k = new float[cap * kvSize];
            v = new float[cap * kvSize];
            attn = new float[cap * qSize];
            mambaOut = new float[cap * hidden];
            attnOut = new float[cap * hidden];
            gate = new float[cap * ffn];
            up = new float[cap * ffn];
            mlpOut = new float[cap * hidden];
            rowCapacity = cap;
        }
        int lr = Math.max(logitRows, 1);
        if (lr > logitRowCapacity) {
            logits = new float[Math.multiplyExact(lr, vocab)];
            logitRowCapacity = lr;
        }
    }

    @Override
    public void close() {
        if (ownsPool) {
            pool.close();
        }
    }
}
