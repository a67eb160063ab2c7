package io.falconq.jobs.intquant;

import io.falconq.formats.testing.SharedGroundTruth;
import io.falconq.core.calib.LinearRole;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.core.intquant.RtnQuantizer;
import io.falconq.core.model.FalconH1Config;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.LayerPart;
import io.falconq.runtime.LayerState;
import io.falconq.runtime.LayerWeights;
import io.falconq.runtime.eval.LogSoftmax;
import io.falconq.runtime.eval.Perplexity;
import io.falconq.runtime.text.HfTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The tiny Falcon-H1 checkpoint of {@code ../shared} run layer by layer for the AWQ tests: calibration windows of
 * a text, the residual entering any layer, a {@link LayerWork} over them, a layer-by-layer quantization of every
 * layer with any per-layer method, and the perplexity of a text with any layer weights.
 */
final class AwqTinyModel implements AutoCloseable {
    final FalconH1Model model;
    final HfCheckpoint checkpoint;
    final FalconH1Config config;
    final FalconH1Forward forward;
    private final HfTokenizer tokenizer;

    AwqTinyModel() {
        Path dir = shared("models/falcon-h1-tiny");
        model = FalconH1Model.load(dir);
        checkpoint = HfCheckpoint.open(dir);
        config = model.config();
        forward = new FalconH1Forward(model, 2);
        tokenizer = HfTokenizer.load(dir);
    }

    static Path shared(String relative) {
        return SharedGroundTruth.path(relative);
    }

    /** Up to {@code count} consecutive windows of {@code tokens} ids of a shared text, BOS first. */
    int[][] windows(String text, int count, int tokens) throws IOException {
        int[] ids = tokenizer.encodeForModel(Files.readString(shared(text)));
        int n = Math.min(count, ids.length / tokens);
        int[][] out = new int[n][];
        for (int w = 0; w < n; w++) {
            out[w] = java.util.Arrays.copyOfRange(ids, w * tokens, (w + 1) * tokens);
        }
        return out;
    }

    /** The float residual entering {@code layer} for each window. */
    float[][] inputs(int[][] windows, int layer) {
        float[][] h = new float[windows.length][];
        for (int s = 0; s < windows.length; s++) {
            h[s] = new float[windows[s].length * config.hiddenSize()];
            forward.embed(windows[s], 0, windows[s].length, h[s], null);
        }
        for (int l = 0; l < layer; l++) {
            run(l, model.weights().layers().get(l), h);
        }
        return h;
    }

    /** Runs {@code layer} with {@code w} over each residual in place. */
    void run(int layer, LayerWeights w, float[][] residuals) {
        LayerState st = new LayerState(config, residuals[0].length / config.hiddenSize());
        for (float[] h : residuals) {
            st.reset();
            forward.runLayer(layer, w, st, 0, h, h.length / config.hiddenSize(), LayerPart.INPUT_NORM,
                    LayerPart.MLP_OUTPUT, null);
        }
    }

    /** A {@link LayerWork} for {@code layer} whose calibration input is {@code inputs}, stores under {@code dir}. */
    LayerWork work(int layer, float[][] inputs, IntQuantScheme scheme, Path dir) throws IOException {
        Files.createDirectories(dir);
        int tokens = inputs[0].length / config.hiddenSize();
        SequenceStore in = SequenceStore.open(dir.resolve("in-" + layer), inputs.length, tokens, config.hiddenSize());
        for (int s = 0; s < inputs.length; s++) {
            in.write(s, inputs[s]);
        }
        SequenceStore out = SequenceStore.open(dir.resolve("out-" + layer), inputs.length, tokens, config.hiddenSize());
        SequenceStore stage = SequenceStore.open(dir.resolve("stage-" + layer), inputs.length, tokens, 1);
        return new LayerWork(layer, config, checkpoint, forward, new LayerState(config, tokens), scheme,
                model.weights().layers().get(layer), in, out, stage, inputs.length, tokens);
    }

    /**
     * Every layer quantized in order by {@code method}, each from the float model's residual entering it, as the
     * job runs AWQ (AutoAWQ's way; round to nearest reads no activations).
     */
    List<LayerWeights> quantizeAll(int[][] calibration, IntQuantScheme scheme, Path dir, Consumer<LayerWork> method)
            throws IOException {
        float[][] h = inputs(calibration, 0);
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < config.numLayers(); l++) {
            LayerWork work = work(l, h, scheme, dir);
            method.accept(work);
            layers.add(work.weights());
            run(l, model.weights().layers().get(l), h);
        }
        return layers;
    }

    /** Plain round to nearest (no clip, no scale) of every linear of the layer. */
    static void roundToNearest(LayerWork work) {
        for (LinearRole r : LinearRole.perLayer()) {
            float[] w = work.linear(r);
            int in = work.weights().linear(r).cols();
            work.setQuantized(r, RtnQuantizer.quantize(r.hfModulePath(work.layer()), w, w.length / in, in,
                    work.scheme(), null, false));
        }
    }

    /** Perplexity of every next token inside the windows, with {@code layers} as the decoder. */
    double perplexity(List<LayerWeights> layers, int[][] windows) {
        Perplexity ppl = new Perplexity();
        int vocab = config.vocabSize();
        for (int[] w : windows) {
            float[] logits = forward.head(finalResidual(layers, w), w.length, 0, null);
            for (int t = 0; t + 1 < w.length; t++) {
                ppl.add(LogSoftmax.nll(logits, t * vocab, vocab, w[t + 1]));
            }
        }
        return ppl.ppl();
    }

    /** The residual after the last of {@code layers} for one window (the final norm's input). */
    float[] finalResidual(List<LayerWeights> layers, int[] window) {
        float[][] h = {new float[window.length * config.hiddenSize()]};
        forward.embed(window, 0, window.length, h[0], null);
        for (int l = 0; l < layers.size(); l++) {
            run(l, layers.get(l), h);
        }
        return h[0];
    }

    @Override
    public void close() {
        forward.close();
        checkpoint.close();
        model.close();
    }
}
