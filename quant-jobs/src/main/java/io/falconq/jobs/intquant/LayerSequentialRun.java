package io.falconq.jobs.intquant;

import io.falconq.core.calib.LinearRole;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.MappedFile;
import io.falconq.formats.io.ProgressListener;
import io.falconq.core.intquant.RtnQuantizer;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorNameMap;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.LayerState;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The layer loop of an int-quant job, GPTQModel's way: the calibration sequences enter layer 0 as embeddings, each
 * layer is quantized from the activations its own inputs have through the already-quantized layers before it
 * ({@link LayerWork}), and its quantized output becomes the next layer's input (AWQ instead passes on the float
 * layer's output, AutoAWQ's way: {@link AwqLayerMethod}). Only the current layer's statistics
 * are resident; the residual streams of all sequences alternate between two files in the work folder (in, out) and
 * the branch/MLP activations between parts go to a third.
 *
 * <p>After each layer: its new tensors are staged, the output residual is synced, and then {@code progress} records
 * the layer as done. A killed job resumes at the first layer not recorded, from the residual file that layer
 * reads, so it computes the same bytes as an uninterrupted run.
 */
final class LayerSequentialRun {
    private static final String PROGRESS_FILE = "layers-done";

    private LayerSequentialRun() {
    }

    /** Layers a previous run of this job finished (0 for a fresh work folder). */
    static int layersDone(Path work) {
        Path f = work.resolve(PROGRESS_FILE);
        if (!Files.isRegularFile(f)) {
            return 0;
        }
        try {
            return Integer.parseInt(Files.readString(f, StandardCharsets.US_ASCII).trim());
        } catch (IOException | NumberFormatException e) {
            return 0; // an unreadable record: start over, the staged files are rewritten
        }
    }

    static void run(FalconH1Model model, HfCheckpoint checkpoint, IntQuantJob.Options opt, int[][] sequences,
                    Path work, ProgressListener progress, JobPhases phases) {
        FalconH1Config c = model.config();
        int layers = c.numLayers();
        int start = layersDone(work);
        int n = opt.method().needsCalibration() ? sequences.length : 0;
        int tokens = n > 0 ? sequences[0].length : 1;
        int stageWidth = IntQuantCost.stageWidth(c);
        try (FalconH1Forward forward = new FalconH1Forward(model, opt.threads());
             SequenceStore a = SequenceStore.open(work.resolve("residual-0.f32"), Math.max(n, 1), tokens, c.hiddenSize());
             SequenceStore b = SequenceStore.open(work.resolve("residual-1.f32"), Math.max(n, 1), tokens, c.hiddenSize());
             SequenceStore stage = SequenceStore.open(work.resolve("stage.f32"), Math.max(n, 1), tokens, stageWidth)) {
            if (start == 0 && n > 0) {
                float[] residual = new float[tokens * c.hiddenSize()];
                for (int s = 0; s < n; s++) {
                    forward.embed(sequences[s], 0, tokens, residual, null);
                    a.write(s, residual);
                }
                a.sync();
            }
            LayerState state = new LayerState(c, tokens);
            for (int layer = start; layer < layers; layer++) {
                JobPhases before = phases.snapshot();
                SequenceStore in = layer % 2 == 0 ? a : b;
                SequenceStore out = layer % 2 == 0 ? b : a;
                LayerWork w = new LayerWork(layer, c, checkpoint, forward, state, opt.scheme(),
                        model.weights().layers().get(layer), in, out, stage, n, tokens, phases, opt.unquantized());
                quantizeLayer(w, opt);
                if (w.finishedCount() != LinearRole.perLayer().length) {
                    throw new IllegalStateException("layer " + layer + ": " + w.finishedCount() + " of "
                            + LinearRole.perLayer().length + " linears quantized");
                }
                try (var write = phases.enter(JobPhases.Phase.WRITE)) {
                    GptqFolderWriter.stageLayer(work, checkpoint, layer, w.packed(), w.replacedNorms());
                }
                try (var io = phases.enter(JobPhases.Phase.SPILL_IO)) {
                    out.sync();
                }
                AtomicOutput.writeBytes(work.resolve(PROGRESS_FILE),
                        Integer.toString(layer + 1).getBytes(StandardCharsets.US_ASCII), true);
                releasePages(checkpoint, layer);
                // Parallel GC promotes the layer's large short-lived arrays (weight copies, codes, Hessians) into
                // the old generation, whose adaptive sizing then grows toward the maximum heap (6.7 GB resident
                // at 0.5B without this); one full collection per layer returns it to the live set, as GPTQModel
                // empties its caches after every layer.
                try (var gc = phases.enter(JobPhases.Phase.GC)) {
                    System.gc();
                }
                progress.onStep(layer + 1, layers, "layer " + layer + "  " + opt.method().label() + "  "
                        + phases.since(before));
            }
        }
    }

    private static void quantizeLayer(LayerWork w, IntQuantJob.Options opt) {
        switch (opt.method()) {
            case RTN -> {
                try (var solve = w.phases().enter(JobPhases.Phase.SOLVE)) {
                    for (LinearRole role : LinearRole.perLayer()) {
                        if (w.keepsFloat(role)) {
                            w.keepFloat(role);
                            continue;
                        }
                        var m = w.weights().linear(role);
                        w.setQuantized(role, RtnQuantizer.quantize(role.hfModulePath(w.layer()), w.linear(role),
                                m.rows(), m.cols(), w.scheme(), null, false, w.pool()));
                    }
                }
            }
            case CLIP, GPTQ -> SequentialLayerMethod.quantize(w, opt.method(), opt.dampPercent());
            case AWQ -> {
                try (var solve = w.phases().enter(JobPhases.Phase.SOLVE)) {
                    AwqLayerMethod.quantize(w, opt.awqLoss());
                }
            }
        }
    }

    /** Drops the mapped pages of a finished layer's source tensors: the job never reads them again. */
    private static void releasePages(HfCheckpoint checkpoint, int layer) {
        for (String name : checkpoint.names()) {
            var at = TensorNameMap.fromHf(name);
            if (at.isPresent() && at.get().role().perLayer() && at.get().layer() == layer) {
                MappedFile.unloadIfMapped(checkpoint.view(name).data());
            }
        }
    }
}
