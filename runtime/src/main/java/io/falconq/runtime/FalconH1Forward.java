package io.falconq.runtime;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.parallel.WorkerPool;
import io.falconq.runtime.kernel.ActivationQuantizer;
import io.falconq.runtime.kernel.MatMul;
import io.falconq.runtime.kernel.VectorOps;
import io.falconq.runtime.kernel.WeightMatrix;

import static io.falconq.runtime.TapListener.emit;

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
 * <p>The layer loop, embeddings and head are here; each decoder layer's branches are their own classes:
 * {@link MambaBranch}, {@link AttentionBranch} (the two mixers, run on the same input norm) and {@link SwiGluMlp}.
 *
 * <p>Not thread-safe: one instance runs one forward pass at a time (it and its branches own their work buffers).
 */
public final class FalconH1Forward implements AutoCloseable {
    private final FalconH1Model model;
    private final FalconH1Config c;
    private final FalconH1Weights w;
    private final Multipliers m;
    private final WorkerPool pool;
    private final boolean ownsPool;
    private final MatMul mm;
    private final MambaBranch mamba;
    private final AttentionBranch attention;
    private final SwiGluMlp mlp;
    private final int hidden;
    private final int vocab;
    private final float eps;

    // work buffers, (rows, width) row-major, grown on demand
    private int rowCapacity;
    private int logitRowCapacity;
    private float[] h;          // (T, H) residual stream
    private float[] normed;     // (T, H)
    private float[] scaled;     // (T, H) branch input × multiplier
    private float[] logits;     // (T', V)

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
        this.mamba = new MambaBranch(c, m, pool, mm);
        this.attention = new AttentionBranch(c, m, pool, mm);
        this.mlp = new SwiGluMlp(c.hiddenSize(), c.intermediateSize(), m, pool, mm);
        this.hidden = c.hiddenSize();
        this.vocab = c.vocabSize();
        this.eps = (float) c.rmsNormEps();
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
        VectorOps.scaleUnlessOne(residual, n * hidden, m.embedding());
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
                    rmsNormRows(residual, 0, normed, n, lw.inputNorm());
                    emit(taps, Tap.INPUT_NORM, layer, normed, n, hidden);
                }
                case MIXER -> {
                    mamba.mix(layer, lw, st, inputTimes(normed, n, m.ssmIn()), n, taps);
                    attention.attend(layer, lw, st, pos0, inputTimes(normed, n, m.attentionIn()), n, taps);
                }
                // x = x + (m + a)
                case MIXER_OUTPUT -> {
                    float[] mambaOut = mamba.outProj(layer, lw, n, taps);
                    float[] attnOut = attention.outProj(layer, lw, n, taps);
                    TokenRows.forEach(pool, n, (t0, t1, worker) -> {
                        for (int i = t0 * hidden; i < t1 * hidden; i++) {
                            residual[i] = residual[i] + (mambaOut[i] + attnOut[i]);
                        }
                    });
                    emit(taps, Tap.POST_MIXER_RESIDUAL, layer, residual, n, hidden);
                }
                case FF_NORM -> {
                    rmsNormRows(residual, 0, normed, n, lw.preFfNorm());
                    emit(taps, Tap.PRE_FF_NORM, layer, normed, n, hidden); // gate/up input, for calibration
                }
                case MLP_HIDDEN -> mlp.activate(layer, lw, normed, n, taps);
                case MLP_OUTPUT -> {
                    float[] mlpOut = mlp.down(layer, lw, n, taps);
                    TokenRows.forEach(pool, n, (t0, t1, worker) -> VectorOps.addInPlace(residual, t0 * hidden, mlpOut,
                            t0 * hidden, (t1 - t0) * hidden));
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
            case ATTN_HEADS -> attention.heads();
            case MAMBA_Y_GATED -> mamba.gated();
            case MLP_ACT -> mlp.activations();
            default -> throw new IllegalArgumentException(tap + " is no part's input");
        };
        System.arraycopy(src, srcOff, dst, 0, n * width);
    }

    /**
     * A bound of the bytes of activation buffers this forward pass and its branches hold per token of a window (the
     * logits and the layer states apart): six hidden-wide rows, in_proj's output, the conv input, the SSM output,
     * q, k, v and the attended heads, and three F-wide rows. The MLP holds two F-wide rows and the Mamba branch a
     * per-head dt row (Hs floats, far fewer than F); the bound counts a third F-wide row instead. Memory plans size a
     * window with it.
     */
    public static long activationBytesPerToken(FalconH1Config c) {
        return 4 * (6L * c.hiddenSize() + c.inProjSize() + c.convDim() + c.ssmInnerSize() + 2L * c.qSize()
                + 2L * c.kvSize() + 3L * c.intermediateSize());
    }

    /** Floats per token row at {@code tap}. */
    public int width(Tap tap) {
        return tap.width(c);
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
        rmsNormRows(residual, first, normed, rows, w.finalNorm());
        emit(taps, Tap.FINAL_NORM, -1, normed, rows, hidden);
        if (first != logitsFrom) {
            System.arraycopy(normed, (logitsFrom - first) * hidden, normed, 0, (n - logitsFrom) * hidden);
        }
        int logitRows = n - logitsFrom;
        if (logitRows > 0) {
            mm.multiply(normed, logitRows, lmHead, logits);
            VectorOps.scaleUnlessOne(logits, logitRows * vocab, m.lmHead());
        }
        if (taps != null && logitsFrom == 0) {
            emit(taps, Tap.LOGITS, -1, logits, logitRows, vocab);
        }
        return logits;
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    /** {@code dst} rows {@code [0, n)} = RMSNorm of {@code src} rows {@code [srcRow0, srcRow0 + n)}. */
    private void rmsNormRows(float[] src, int srcRow0, float[] dst, int n, float[] weight) {
        TokenRows.forEach(pool, n, (t0, t1, worker) -> {
            for (int t = t0; t < t1; t++) {
                VectorOps.rmsNorm(src, (srcRow0 + t) * hidden, hidden, weight, 0, eps, dst, t * hidden);
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

    private void ensureRows(int n, int logitRows) {
        if (n > rowCapacity) {
            int cap = Math.max(n, 1);
            h = new float[cap * hidden];
            normed = new float[cap * hidden];
            scaled = new float[cap * hidden];
            mamba.ensureRows(cap);
            attention.ensureRows(cap);
            mlp.ensureRows(cap);
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
