package io.falconq.jobs.sensitivity;

import io.falconq.core.calib.LinearRole;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.ProgressListener;
import io.falconq.jobs.intquant.SequenceStore;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Weights;
import io.falconq.runtime.LayerPart;
import io.falconq.runtime.LayerState;
import io.falconq.runtime.LayerWeights;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.LogProbRecord;
import io.falconq.runtime.eval.LogitsFile;
import io.falconq.runtime.eval.TokenComparison;
import io.falconq.runtime.kernel.WeightMatrix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The mean KL divergence against the unquantized model when one tensor is swapped, computed by re-running only what
 * lies downstream of it. The reference pass runs every window once and caches, in the work folder, the residual
 * stream entering each layer (and leaving the last: L + 1 {@link SequenceStore}s of windows × ctx × hidden floats)
 * and the reference log-probabilities of the scored positions ({@link LogitsFile}, llama-perplexity's 16-bit
 * records). A swap in layer l then reads layer l's input and runs layers l … L−1 and the head; the token embedding
 * runs from the embedding lookup, the LM head only the head. The KL of each position is the runtime's own
 * ({@link TokenComparison}, llama-perplexity's formula), averaged in position order.
 */
final class DownstreamKld implements AutoCloseable {
    private static final String RECORDS = "reference.logits";
    private static final String DONE = "reference-done";

    private final FalconH1Forward forward;
    private final FalconH1Config c;
    private final List<EvalProtocol.Window> windows;
    private final int[] stream;
    private final Path work;
    private final List<SequenceStore> layerInputs = new ArrayList<>();
    private final LayerState state;
    private final float[] residual;
    /** A cached residual to compare with. */
    private final float[] reference;
    private final int vocab;
    private final int recordBytes;
    private final ByteBuffer records;
    private final double[] kld;

    DownstreamKld(FalconH1Forward forward, List<EvalProtocol.Window> windows, int[] stream, Path work) {
        this.forward = forward;
        this.c = forward.model().config();
        this.windows = windows;
        this.stream = stream;
        this.work = work;
        int ctx = windows.getFirst().length();
        for (int l = 0; l <= c.numLayers(); l++) {
            layerInputs.add(SequenceStore.open(work.resolve("residual-" + l + ".f32"), windows.size(), ctx,
                    c.hiddenSize()));
        }
        this.state = new LayerState(c, ctx);
        this.residual = new float[ctx * c.hiddenSize()];
        this.reference = new float[residual.length];
        this.vocab = c.vocabSize();
        this.recordBytes = LogProbRecord.bytes(vocab);
        int scored = windows.stream().mapToInt(EvalProtocol.Window::scoredCount).max().orElse(0);
        this.records = ByteBuffer.allocate(Math.multiplyExact(scored, recordBytes)).order(ByteOrder.LITTLE_ENDIAN);
        this.kld = new double[scored];
    }

    /** Bytes of the reference cache: (L + 1) residual stores and the records. */
    static long cacheBytes(FalconH1Config c, int windows, int ctx, long scoredTokens) {
        return (c.numLayers() + 1L) * SequenceStore.bytes(windows, ctx, c.hiddenSize())
                + scoredTokens * LogProbRecord.bytes(c.vocabSize());
    }

    /** Runs the reference pass unless a previous run of this job finished it. */
    void buildReference(LogitsFile.Header header, ProgressListener progress) {
        if (Files.isRegularFile(work.resolve(DONE))) {
            return;
        }
        FalconH1Weights w = forward.model().weights();
        try (LogitsFile.Writer out = LogitsFile.create(work.resolve(RECORDS), true, header)) {
            for (EvalProtocol.Window win : windows) {
                int n = win.length();
                forward.embed(win.input(), 0, n, residual, null);
                for (int l = 0; l < c.numLayers(); l++) {
                    layerInputs.get(l).write(win.index(), residual);
                    runLayer(l, w.layers().get(l));
                }
                layerInputs.get(c.numLayers()).write(win.index(), residual);
                float[] logits = forward.head(residual, n, win.firstScored(), null);
                int base = win.start() + win.firstScored() + 1;
                forward.pool().forEach(win.scoredCount(), (i, worker) -> LogProbRecord.encode(logits, i * vocab,
                        vocab, stream[base + i], slice(i)));
                out.write(records, win.scoredCount());
                progress.onStep(win.index() + 1, windows.size(), "reference window " + (win.index() + 1));
            }
            out.commit();
        }
        layerInputs.forEach(SequenceStore::sync);
        AtomicOutput.writeBytes(work.resolve(DONE), "done\n".getBytes(StandardCharsets.US_ASCII), true);
    }

    /** Mean KLD of the unquantized model against its own 16-bit records: the floor every swap is measured from. */
    double referenceKld() {
        return meanKld(null, null);
    }

    /**
     * Mean KLD with tensor {@code role} of {@code layer} (−1 for global tensors) replaced by {@code m}; with a null
     * role nothing is replaced and only the head runs.
     */
    double meanKld(TensorRole role, WeightMatrix m) {
        FalconH1Weights w = forward.model().weights();
        int layers = c.numLayers();
        int start = role == null || role == TensorRole.OUTPUT ? layers
                : role == TensorRole.TOKEN_EMBD ? 0 : swapLayer(role, m);
        LinearRole linear = role == null || !role.perLayer() ? null : LinearRole.of(role);
        // a GGUF without output.weight reuses the embedding as the LM head
        boolean tied = w.lmHead() == w.embeddings();
        WeightMatrix head = role == TensorRole.OUTPUT || (role == TensorRole.TOKEN_EMBD && tied) ? m : w.lmHead();
        double sum = 0;
        long count = 0;
        try (LogitsFile.Reader base = LogitsFile.open(work.resolve(RECORDS))) {
            for (EvalProtocol.Window win : windows) {
                int n = win.length();
                if (role == TensorRole.TOKEN_EMBD) {
                    forward.embed(m, win.input(), 0, n, residual, null);
                } else {
                    layerInputs.get(start).read(win.index(), residual);
                }
                for (int l = start; l < layers; l++) {
                    LayerWeights lw = w.layers().get(l);
                    runLayer(l, linear != null && l == start ? lw.with(linear, m) : lw);
                }
                float[] logits = forward.head(head, residual, n, win.firstScored(), null);
                base.next(records, win.scoredCount());
                int first = win.start() + win.firstScored() + 1;
                forward.pool().forEach(win.scoredCount(), (i, worker) -> kld[i] = TokenComparison.compute(logits,
                        i * vocab, vocab, stream[first + i], slice(i)).kld());
                for (int i = 0; i < win.scoredCount(); i++) {
                    sum += kld[i];
                }
                count += win.scoredCount();
            }
        }
        return sum / count;
    }

    /**
     * The mean squared change (per token, summed over the hidden size) of the residual leaving the tensor's layer when
     * only that layer runs with {@code m}: no downstream layer, no head.
     */
    double layerOutputError(TensorRole role, WeightMatrix m) {
        int layer = swapLayer(role, m);
        LayerWeights lw = forward.model().weights().layers().get(layer).with(LinearRole.parseGguf(m.name()).role(), m);
        double sum = 0;
        for (EvalProtocol.Window win : windows) {
            layerInputs.get(layer).read(win.index(), residual);
            runLayer(layer, lw);
            layerInputs.get(layer + 1).read(win.index(), reference);
            for (int i = 0; i < residual.length; i++) {
                double d = residual[i] - reference[i];
                sum += d * d;
            }
        }
        return sum / ((double) windows.size() * (residual.length / c.hiddenSize()));
    }

    private static int swapLayer(TensorRole role, WeightMatrix m) {
        LinearRole.Located at = LinearRole.parseGguf(m.name());
        if (at == null || !at.role().isPerLayer()) {
            throw new IllegalArgumentException(m.name() + " (" + role + ") is not a layer's linear");
        }
        return at.layer();
    }

    private void runLayer(int layer, LayerWeights lw) {
        state.reset();
        forward.runLayer(layer, lw, state, 0, residual, residual.length / c.hiddenSize(), LayerPart.INPUT_NORM,
                LayerPart.MLP_OUTPUT, null);
    }

    private ByteBuffer slice(int i) {
        return records.slice(i * recordBytes, recordBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void close() {
        layerInputs.forEach(SequenceStore::close);
    }
}
