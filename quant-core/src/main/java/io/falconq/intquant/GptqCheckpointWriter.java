package io.falconq.intquant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.calib.HessianAccumulator;
import io.falconq.calib.ImportanceStats;
import io.falconq.calib.LinearInputStats;
import io.falconq.calib.LinearRole;
import io.falconq.calib.SequenceSample;
import io.falconq.calib.TokenSample;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.OutputException;
import io.falconq.formats.io.ProgressListener;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsWriter;
import io.falconq.formats.tensor.TensorView;
import io.falconq.model.FalconH1Config;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Quantizes every linear layer of a Falcon-H1 Hugging Face checkpoint to int8/int4 and writes the result as a GPTQ
 * checkpoint folder ({@link GptqLayout}, SPEC.md §3) that GPTQModel/transformers/vLLM and falconq's runtime load.
 *
 * <p>Quantized, as in TII's own GPTQ releases: {@code self_attn.{q,k,v,o}_proj}, {@code mamba.{in_proj,out_proj}},
 * {@code feed_forward.{gate,up,down}_proj} of every layer. Kept as stored (16-bit): embeddings and lm_head (the
 * largest error per bit and, for lm_head, not a GPTQ module in those releases), every norm (a per-channel gain, tiny),
 * conv1d (a depthwise kernel of 4 taps: not a matrix product), A_log, D and dt_bias (per-head scalars that enter
 * exponentials, where 4-bit error would be amplified).
 *
 * <p>Methods: {@code rtn} (min/max round to nearest), {@code clip} (clipping ratio searched per group to minimise
 * the imatrix-weighted error), {@code awq} (activation-aware input-channel scales folded into the preceding op, then
 * clip), {@code gptq} (Hessian error feedback).
 *
 * <p>AWQ scale search: when calibration kept whole sequences of the residual stream
 * ({@link LinearInputStats#embeddingSample}), every scale below is chosen by AutoAWQ's candidate grid scored on the
 * KL divergence of the next-token distribution, with the candidate's group quantized (round to nearest after
 * scaling) and the rest of the layer and every later layer in float ({@link AwqNetwork}; for deep models the
 * residual error after a window of {@link AwqNetwork#WINDOW_LAYERS} layers). Layers are searched in order, each
 * from the float residual stream through the already-scaled earlier layers. Without those sequences the block
 * losses listed with each group are used. AWQ scale folding (HF layout, weights unfolded):
 * <ul>
 *   <li>q, k, v and mamba.in_proj share the one input_layernorm output, so one scale vector serves all four and is
 *       divided out of input_layernorm.weight; it is chosen on the error of the layer's mixer output (Mamba branch
 *       + attention branch, {@link AwqMixer}) over whole calibration sequences
 *       ({@link LinearInputStats#mixerSample}); without them, on the four linear outputs;</li>
 *   <li>gate and up share pre_ff_layernorm: one vector, divided out of pre_ff_layernorm.weight, chosen on the
 *       error of the whole MLP output over the calibration token sample ({@link LinearInputStats#ffnSample},
 *       AutoAWQ's {@code module2inspect = mlp}); without a sample, on the gate/up outputs;</li>
 *   <li>down_proj's input is up(x)·silu(gate(x)·m), linear in up's rows: divided out of up_proj rows;</li>
 *   <li>o_proj's input is the attention output, linear in v_proj rows; with GQA the query heads sharing a kv head
 *       must share the scale, so it is searched per v channel and repeated across the group;</li>
 *   <li>out_proj's input is mamba.norm.weight ⊙ groupRMS(y ⊙ silu(z)) (gate-then-norm): divided out of
 *       mamba.norm.weight. Without mamba_rms_norm there is no per-channel op to absorb it and out_proj gets clip
 *       only.</li>
 * </ul>
 * After scaling, every AWQ linear but q and k gets AutoAWQ's {@code auto_clip} (range shrink searched on the
 * output error of each group); q and k are rounded to nearest, as AutoAWQ's {@code avoid_clipping} does.
 * Norm weights stay in their stored dtype; the rounding of w/s is compensated exactly by using
 * s_eff = w / round(w/s) for the consumer columns.
 *
 * <p>GPTQ here is not "true sequential": all Hessians come from one calibration pass of the unquantized model
 * (AutoGPTQ re-runs each block on the outputs of the already-quantized previous blocks); {@code true_sequential}
 * is written as false accordingly.
 *
 * <p>Output is atomic: the whole folder is written as {@code <out>.partial-<pid>} and renamed.
 */
public final class GptqCheckpointWriter {
    /** Layers AWQ runs in float after a candidate group (its downstream loss), for cost estimates. */
    public static final int AWQ_WINDOW_LAYERS = AwqNetwork.WINDOW_LAYERS;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public enum Method {
        RTN, CLIP, AWQ, GPTQ;

        public boolean needsCalibration() {
            return this != RTN;
        }
    }

    public record Options(IntQuantScheme scheme, Method method, double dampPercent) {
    }

    /** One quantized linear: name, shape and the method's own error measure (GPTQ loss, or NaN). */
    public record LinearReport(String name, int out, int in, double loss) {
    }

    public record Report(List<LinearReport> linears, double seconds) {
    }

    private GptqCheckpointWriter() {
    }

    public static Report write(HfCheckpoint src, FalconH1Config cfg, LinearInputStats stats, Options opt, Path out,
                               boolean force, ProgressListener progress) {
        long t0 = System.nanoTime();
        if (opt.method().needsCalibration() && stats == null) {
            throw new IllegalArgumentException(opt.method() + " needs calibration statistics");
        }
        if (opt.method() == Method.GPTQ && !stats.hasHessians()) {
            throw new IllegalArgumentException("gptq needs Hessians in the calibration statistics");
        }
        Path target = out.toAbsolutePath();
        if (Files.exists(target) && !force) {
            throw new OutputException(target + ": output exists (use --force to overwrite)");
        }
        if (Files.exists(target) && !Files.isDirectory(target)) {
            throw new OutputException(target + ": output exists and is not a folder");
        }

        // ---- read the linear weights as float, apply AWQ scaling, quantize ------------------------------------
        Map<String, float[]> replacedSmall = new HashMap<>();  // modified norm weights (HF name → values)
        Map<String, float[]> linW = new LinkedHashMap<>();     // HF module path → (out, in) weight
        Map<String, int[]> shapes = new HashMap<>();
        Map<String, float[]> importance = new HashMap<>();     // HF module path → per-input importance after scaling
        for (int layer = 0; layer < cfg.numLayers(); layer++) {
            for (LinearRole role : LinearRole.perLayer()) {
                String module = role.hfModulePath(layer);
                TensorView v = src.view(module + ".weight");
                long[] shape = v.shape();
                if (shape.length != 2) {
                    throw new InvalidInputException(v.name() + ": expected a 2-D weight, found " + java.util.Arrays.toString(shape));
                }
                // AWQ edits several weights of a layer together; the other methods read each weight when its turn comes
                linW.put(module, opt.method() == Method.AWQ ? toFloats(v) : null);
                shapes.put(module, new int[] {(int) shape[0], (int) shape[1]});
                if (stats != null) {
                    ImportanceStats s = stats.stats(layer, role);
                    if (s == null) {
                        throw new IllegalStateException(module + ": no calibration activations were observed");
                    }
                    importance.put(module, s.meanSq());
                }
            }
        }
        if (opt.method() == Method.AWQ) {
            // downstream loss: the residual stream of the kept calibration sequences, carried layer by layer
            SequenceSample embeddings = stats.embeddingSample();
            AwqNetwork net = null;
            List<float[]> residual = null;
            if (embeddings != null && !embeddings.sequences().isEmpty()) {
                residual = embeddings.sequences();
                int maxLen = residual.stream().mapToInt(a -> a.length / cfg.hiddenSize()).max().orElseThrow();
                net = new AwqNetwork(cfg, maxLen, toFloats(src.view("model.final_layernorm.weight")),
                        toFloats(src.view(cfg.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight")));
            }
            for (int layer = 0; layer < cfg.numLayers(); layer++) {
                AwqNetwork.Window window = null;
                if (net != null) {
                    int end = Math.min(cfg.numLayers(), layer + AwqNetwork.WINDOW_LAYERS);
                    List<AwqNetwork.Layer> layers = new ArrayList<>();
                    for (int l = layer; l < end; l++) {
                        layers.add(awqLayer(src, cfg, l, linW, replacedSmall));
                    }
                    window = net.new Window(residual, layers, end == cfg.numLayers());
                }
                applyAwq(src, cfg, stats, layer, opt.scheme(), linW, shapes, importance, replacedSmall, window);
                if (net != null) {
                    // the next layer's input through this layer as the checkpoint computes it in float
                    AwqNetwork.Layer done = awqLayer(src, cfg, layer, linW, replacedSmall);
                    AwqNetwork n = net;
                    residual = residual.stream().map(x -> n.layer(done, x, x.length / cfg.hiddenSize())).toList();
                }
            }
        }

        Map<String, float[]> colScale = new HashMap<>();
        for (Map.Entry<String, float[]> e : importance.entrySet()) {
            if (e.getKey().endsWith(SCALE_SUFFIX)) {
                colScale.put(e.getKey().substring(0, e.getKey().length() - SCALE_SUFFIX.length()), e.getValue());
            }
        }
        // one Hessian preparation per distinct input (q/k/v/in_proj share one, gate/up another); identity keys
        Map<HessianAccumulator, GptqQuantizer.Prepared> prepared = new java.util.IdentityHashMap<>();
        int preparedLayer = -1;
        List<LinearReport> reports = new ArrayList<>();
        Map<String, PackedLinear> quantized = new LinkedHashMap<>();
        int done = 0;
        for (Map.Entry<String, float[]> e : linW.entrySet()) {
            String module = e.getKey();
            int[] sh = shapes.get(module);
            if (e.getValue() == null) {
                e.setValue(toFloats(src.view(module + ".weight")));
            }
            LinearRole.Located at = locate(module, cfg);
            if (at.layer() != preparedLayer) {
                prepared.clear(); // layers are processed in order: earlier factors are not needed again
                preparedLayer = at.layer();
            }
            double loss = Double.NaN;
            QuantizedLinear q = switch (opt.method()) {
                case RTN -> RtnQuantizer.quantize(module, e.getValue(), sh[0], sh[1], opt.scheme(), null, false);
                case CLIP -> RtnQuantizer.quantize(module, e.getValue(), sh[0], sh[1], opt.scheme(),
                        importance.get(module), true);
                // AutoAWQ's auto_clip leaves q and k alone (avoid_clipping): their output error is not what the
                // attention scores see
                case AWQ -> at.role() == LinearRole.ATTN_Q || at.role() == LinearRole.ATTN_K
                        ? RtnQuantizer.quantize(module, e.getValue(), sh[0], sh[1], opt.scheme(), null, false)
                        : RtnQuantizer.quantizeHessianClip(module, e.getValue(), sh[0], sh[1], opt.scheme(),
                        scaledHessian(stats.hessian(at.layer(), at.role()).hessian(), colScale.get(module)));
                case GPTQ -> {
                    HessianAccumulator h = stats.hessian(at.layer(), at.role());
                    GptqQuantizer.Prepared prep = prepared.computeIfAbsent(h, k -> GptqQuantizer.prepare(module,
                            k.hessian(), opt.scheme(), opt.dampPercent()));
                    GptqQuantizer.Result r = GptqQuantizer.quantize(module, e.getValue(), sh[0], sh[1], prep, opt.scheme());
                    loss = r.loss();
                    yield r.weight();
                }
            };
            quantized.put(module, PackedLinear.of(q)); // keep only the packed form: bits per weight, not 32
            reports.add(new LinearReport(module, sh[0], sh[1], loss));
            e.setValue(null); // drop the float copy
            progress.onStep(++done, linW.size(), module + "  " + opt.method().name().toLowerCase() + "  [" + sh[0]
                    + ", " + sh[1] + "]");
        }

        // ---- write the folder ---------------------------------------------------------------------------------
        Path temp = target.resolveSibling(target.getFileName() + ".partial-" + ProcessHandle.current().pid());
        try {
            deleteTree(temp);
            Files.createDirectories(temp);
            writeTensors(src, quantized, replacedSmall, temp.resolve("model.safetensors"));
            writeConfig(src, opt, temp);
            copyOtherFiles(src.dir(), temp);
            if (Files.exists(target)) {
                Path old = target.resolveSibling(target.getFileName() + ".old-" + ProcessHandle.current().pid());
                Files.move(target, old);
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(old);
            } else {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new OutputException(target + ": cannot write checkpoint: " + e.getMessage(), e);
        } finally {
            try {
                deleteTree(temp);
            } catch (IOException ignored) {
                // best effort; the name carries the pid
            }
        }
        return new Report(reports, (System.nanoTime() - t0) / 1e9);
    }

    // ---- AWQ -----------------------------------------------------------------------------------------------

    /** The mixer's parameters of {@code layer} in float: linears from linW, mamba.norm.weight from {@code ssmNorm}. */
    private static AwqMixer.Weights mixerWeights(HfCheckpoint src, FalconH1Config cfg, int layer,
                                                 Map<String, float[]> linW,
                                                 java.util.function.Function<String, float[]> ssmNorm) {
        String p = "model.layers." + layer + ".";
        return new AwqMixer.Weights(linW.get(LinearRole.ATTN_Q.hfModulePath(layer)),
                linW.get(LinearRole.ATTN_K.hfModulePath(layer)), linW.get(LinearRole.ATTN_V.hfModulePath(layer)),
                linW.get(LinearRole.ATTN_OUTPUT.hfModulePath(layer)), linW.get(LinearRole.SSM_IN.hfModulePath(layer)),
                linW.get(LinearRole.SSM_OUT.hfModulePath(layer)), toFloats(src.view(p + "mamba.conv1d.weight")),
                cfg.convBias() ? toFloats(src.view(p + "mamba.conv1d.bias")) : null,
                toFloats(src.view(p + "mamba.dt_bias")), toFloats(src.view(p + "mamba.A_log")),
                toFloats(src.view(p + "mamba.D")), cfg.ssmRmsNorm() ? ssmNorm.apply(p + "mamba.norm.weight") : null);
    }

    /** Layer {@code layer} in float as the checkpoint stands: linears from linW, norms as replaced by AWQ. */
    private static AwqNetwork.Layer awqLayer(HfCheckpoint src, FalconH1Config cfg, int layer, Map<String, float[]> linW,
                                             Map<String, float[]> replacedSmall) {
        String p = "model.layers." + layer + ".";
        java.util.function.Function<String, float[]> small = name -> replacedSmall.containsKey(name)
                ? replacedSmall.get(name) : toFloats(src.view(name));
        AwqMixer.Weights w = mixerWeights(src, cfg, layer, linW, small);
        return new AwqNetwork.Layer(small.apply(p + "input_layernorm.weight"), w, small.apply(p + "pre_ff_layernorm.weight"),
                linW.get(LinearRole.FFN_GATE.hfModulePath(layer)), linW.get(LinearRole.FFN_UP.hfModulePath(layer)),
                linW.get(LinearRole.FFN_DOWN.hfModulePath(layer)));
    }

    private static AwqScaler.Consumer consumer(FalconH1Config cfg, LinearRole role, int layer, Map<String, float[]> linW,
                                               Map<String, int[]> shapes) {
        String m = role.hfModulePath(layer);
        return new AwqScaler.Consumer(linW.get(m), shapes.get(m)[0]);
    }

    /**
     * AWQ for one layer. With a downstream {@code window} (calibration sequences of the residual stream were kept)
     * every scale is chosen on the error of the logits (or of the residual after the window) with the candidate's
     * group quantized and everything else in float ({@link AwqNetwork}); otherwise on the block outputs below.
     */
    private static void applyAwq(HfCheckpoint src, FalconH1Config cfg, LinearInputStats stats, int layer,
                                 IntQuantScheme scheme, Map<String, float[]> linW, Map<String, int[]> shapes,
                                 Map<String, float[]> importance, Map<String, float[]> replacedSmall,
                                 AwqNetwork.Window window) {
        String p = "model.layers." + layer + ".";
        int hidden = cfg.hiddenSize();
        // q, k, v, in_proj ← input_layernorm, scored on the mixer output (attention + Mamba) when sequences were kept
        float[] mixerScale = null;
        SequenceSample sequences = stats.mixerSample(layer);
        if (window != null) {
            AwqNetwork.Layer base = awqLayer(src, cfg, layer, linW, replacedSmall);
            AwqMixer.Weights w = base.mixer();
            mixerScale = AwqScaler.searchBy(stats.stats(layer, LinearRole.ATTN_Q).meanAbs(), new AwqScaler.Consumer[] {
                    consumer(cfg, LinearRole.ATTN_Q, layer, linW, shapes), consumer(cfg, LinearRole.ATTN_K, layer, linW, shapes),
                    consumer(cfg, LinearRole.ATTN_V, layer, linW, shapes), consumer(cfg, LinearRole.SSM_IN, layer, linW, shapes)},
                    hidden, scheme, null, sc -> window.loss(base.withMixer(w.withInputs(
                            AwqScaler.quantizedUnscaled(w.q(), cfg.qSize(), hidden, sc, scheme),
                            AwqScaler.quantizedUnscaled(w.k(), cfg.kvSize(), hidden, sc, scheme),
                            AwqScaler.quantizedUnscaled(w.v(), cfg.kvSize(), hidden, sc, scheme),
                            AwqScaler.quantizedUnscaled(w.inProj(), cfg.inProjSize(), hidden, sc, scheme))), false));
        } else if (sequences != null && !sequences.sequences().isEmpty()) {
            int maxLen = sequences.sequences().stream().mapToInt(a -> a.length / cfg.hiddenSize()).max().orElseThrow();
            AwqMixer.Weights w = mixerWeights(src, cfg, layer, linW, name -> toFloats(src.view(name)));
            mixerScale = new AwqMixer(cfg, maxLen).search(stats.stats(layer, LinearRole.ATTN_Q).meanAbs(), w,
                    sequences.sequences(), scheme);
        }
        scaleFromNorm(src, cfg, stats, layer, LinearRole.ATTN_Q, p + "input_layernorm.weight",
                List.of(LinearRole.ATTN_Q, LinearRole.ATTN_K, LinearRole.ATTN_V, LinearRole.SSM_IN), scheme, linW,
                shapes, importance, replacedSmall, mixerScale);
        // o_proj ← v_proj rows (GQA: scale shared by the query heads of one kv head)
        {
            String o = LinearRole.ATTN_OUTPUT.hfModulePath(layer);
            String v = LinearRole.ATTN_V.hfModulePath(layer);
            int qSize = cfg.qSize();
            int kv = cfg.kvSize();
            int hd = cfg.headDim();
            int rep = cfg.gqaGroupSize();
            ImportanceStats st = stats.stats(layer, LinearRole.ATTN_OUTPUT);
            double[][] h = stats.hessian(layer, LinearRole.ATTN_OUTPUT) != null
                    ? stats.hessian(layer, LinearRole.ATTN_OUTPUT).hessian() : null;
            if (h != null) {
                // o column j = (query head h, dim d) reads kv head h / rep: columns of one kv channel share a scale
                int[] tiedClass = new int[qSize];
                for (int j = 0; j < qSize; j++) {
                    tiedClass[j] = (j / hd / rep) * hd + j % hd;
                }
                AwqScaler.Consumer[] oc = {new AwqScaler.Consumer(linW.get(o), shapes.get(o)[0])};
                float[] s;
                if (window != null) {
                    AwqNetwork.Layer base = awqLayer(src, cfg, layer, linW, replacedSmall);
                    s = AwqScaler.searchBy(st.meanAbs(), oc, qSize, scheme, tiedClass, sc -> window.loss(base.withMixer(
                            base.mixer().withOutputs(AwqScaler.quantizedUnscaled(base.mixer().o(), hidden, qSize, sc, scheme),
                                    base.mixer().outProj())), false));
                } else {
                    s = AwqScaler.search(st.meanAbs(), h, oc, qSize, scheme, tiedClass);
                }
                scaleColumns(linW.get(o), shapes.get(o)[0], qSize, s);
                float[] vw = linW.get(v);
                int vin = shapes.get(v)[1];
                for (int c = 0; c < kv; c++) {
                    float sc = s[(c / hd) * rep * hd + c % hd]; // first query head of kv head c / hd
                    for (int i = 0; i < vin; i++) {
                        vw[c * vin + i] /= sc;
                    }
                }
                divideImportance(importance, o, s);
            }
        }
        // gate, up ← pre_ff_layernorm, scored on the MLP output when a token sample was kept
        float[] mlpScale = null;
        TokenSample sample = stats.ffnSample(layer);
        if (window != null) {
            AwqNetwork.Layer base = awqLayer(src, cfg, layer, linW, replacedSmall);
            int inter = cfg.intermediateSize();
            mlpScale = AwqScaler.searchBy(stats.stats(layer, LinearRole.FFN_GATE).meanAbs(), new AwqScaler.Consumer[] {
                    consumer(cfg, LinearRole.FFN_GATE, layer, linW, shapes), consumer(cfg, LinearRole.FFN_UP, layer, linW, shapes)},
                    hidden, scheme, null, sc -> window.loss(base.withMlp(
                            AwqScaler.quantizedUnscaled(base.gate(), inter, hidden, sc, scheme),
                            AwqScaler.quantizedUnscaled(base.up(), inter, hidden, sc, scheme), base.down()), true));
        } else if (sample != null && sample.size() > 0) {
            String gate = LinearRole.FFN_GATE.hfModulePath(layer);
            AwqScaler.Mlp mlp = new AwqScaler.Mlp(linW.get(gate), linW.get(LinearRole.FFN_UP.hfModulePath(layer)),
                    linW.get(LinearRole.FFN_DOWN.hfModulePath(layer)), shapes.get(gate)[1], shapes.get(gate)[0],
                    cfg.mlpMultipliers()[0]);
            mlpScale = AwqScaler.searchMlp(stats.stats(layer, LinearRole.FFN_GATE).meanAbs(), mlp, sample.rows(),
                    sample.size(), scheme);
        }
        scaleFromNorm(src, cfg, stats, layer, LinearRole.FFN_GATE, p + "pre_ff_layernorm.weight",
                List.of(LinearRole.FFN_GATE, LinearRole.FFN_UP), scheme, linW, shapes, importance, replacedSmall,
                mlpScale);
        // down ← up rows
        {
            String down = LinearRole.FFN_DOWN.hfModulePath(layer);
            String up = LinearRole.FFN_UP.hfModulePath(layer);
            HessianAccumulator ha = stats.hessian(layer, LinearRole.FFN_DOWN);
            if (ha != null) {
                int f = shapes.get(down)[1];
                AwqScaler.Consumer[] dc = {new AwqScaler.Consumer(linW.get(down), shapes.get(down)[0])};
                float[] s;
                if (window != null) {
                    AwqNetwork.Layer base = awqLayer(src, cfg, layer, linW, replacedSmall);
                    s = AwqScaler.searchBy(stats.stats(layer, LinearRole.FFN_DOWN).meanAbs(), dc, f, scheme, null,
                            sc -> window.loss(base.withMlp(base.gate(), base.up(),
                                    AwqScaler.quantizedUnscaled(base.down(), hidden, f, sc, scheme)), true));
                } else {
                    s = AwqScaler.search(stats.stats(layer, LinearRole.FFN_DOWN).meanAbs(), ha.hessian(), dc, f, scheme);
                }
                scaleColumns(linW.get(down), shapes.get(down)[0], f, s);
                float[] uw = linW.get(up);
                int uin = shapes.get(up)[1];
                for (int r = 0; r < f; r++) {
                    for (int i = 0; i < uin; i++) {
                        uw[r * uin + i] /= s[r];
                    }
                }
                divideImportance(importance, down, s);
            }
        }
        // out_proj ← mamba.norm (gate-then-norm only)
        if (cfg.ssmRmsNorm() && !cfg.ssmNormBeforeGate()) {
            float[] outScale = null;
            if (window != null) {
                AwqNetwork.Layer base = awqLayer(src, cfg, layer, linW, replacedSmall);
                int di = cfg.ssmInnerSize();
                outScale = AwqScaler.searchBy(stats.stats(layer, LinearRole.SSM_OUT).meanAbs(), new AwqScaler.Consumer[] {
                        consumer(cfg, LinearRole.SSM_OUT, layer, linW, shapes)}, di, scheme, null,
                        sc -> window.loss(base.withMixer(base.mixer().withOutputs(base.mixer().o(),
                                AwqScaler.quantizedUnscaled(base.mixer().outProj(), hidden, di, sc, scheme))), false));
            }
            scaleFromNorm(src, cfg, stats, layer, LinearRole.SSM_OUT, p + "mamba.norm.weight", List.of(LinearRole.SSM_OUT),
                    scheme, linW, shapes, importance, replacedSmall, outScale);
        }
    }

    /**
     * (input multiplier · output multiplier)² per output row of {@code role} in the HF forward pass (SPEC.md §1.3):
     * the factor by which the row's error reaches the next op.
     */
    static float[] outputWeights(FalconH1Config cfg, LinearRole role, int out) {
        float[] w = new float[out];
        double[] mup = cfg.ssmMultipliers();
        double[] mlp = cfg.mlpMultipliers();
        for (int o = 0; o < out; o++) {
            double f = switch (role) {
                case ATTN_Q, ATTN_V -> cfg.attentionInMultiplier();
                case ATTN_K -> cfg.attentionInMultiplier() * cfg.keyMultiplier();
                case SSM_IN -> {
                    int di = cfg.ssmInnerSize();
                    int gs = cfg.ssmGroups() * cfg.ssmStateSize();
                    int seg = o < di ? 0 : o < 2 * di ? 1 : o < 2 * di + gs ? 2 : o < 2 * di + 2 * gs ? 3 : 4;
                    yield cfg.ssmInMultiplier() * mup[seg];
                }
                case FFN_GATE -> mlp[0];
                default -> 1.0;
            };
            w[o] = (float) (f * f);
        }
        return w;
    }

    private static void scaleFromNorm(HfCheckpoint src, FalconH1Config cfg, LinearInputStats stats, int layer,
                                      LinearRole inputRole,
                                      String normName, List<LinearRole> consumers, IntQuantScheme scheme,
                                      Map<String, float[]> linW, Map<String, int[]> shapes,
                                      Map<String, float[]> importance, Map<String, float[]> replacedSmall,
                                      float[] searched) {
        HessianAccumulator ha = stats.hessian(layer, inputRole);
        if (ha == null) {
            return;
        }
        int in = shapes.get(consumers.getFirst().hfModulePath(layer))[1];
        AwqScaler.Consumer[] cs = consumers.stream().map(r -> new AwqScaler.Consumer(linW.get(r.hfModulePath(layer)),
                shapes.get(r.hfModulePath(layer))[0], outputWeights(cfg, r, shapes.get(r.hfModulePath(layer))[0])))
                .toArray(AwqScaler.Consumer[]::new);
        float[] s = searched != null ? searched
                : AwqScaler.search(stats.stats(layer, inputRole).meanAbs(), ha.hessian(), cs, in, scheme);
        TensorView normView = src.view(normName);
        float[] norm = toFloats(normView);
        float[] newNorm = new float[norm.length];
        float[] sEff = new float[in];
        for (int i = 0; i < in; i++) {
            float stored = roundToDtype(norm[i] / s[i], normView);
            newNorm[i] = stored;
            sEff[i] = stored != 0 && norm[i] != 0 ? norm[i] / stored : s[i];
        }
        replacedSmall.put(normName, newNorm);
        for (LinearRole r : consumers) {
            String m = r.hfModulePath(layer);
            scaleColumns(linW.get(m), shapes.get(m)[0], in, sEff);
            divideImportance(importance, m, sEff);
        }
    }

    private static void scaleColumns(float[] w, int out, int in, float[] s) {
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                w[o * in + i] *= s[i];
            }
        }
    }

    /**
     * The input of a column-scaled weight is x / s, so its mean x² is divided by s²; the cumulative scale is kept in
     * the {@code "#scale"}-suffixed entry for {@link #scaledHessian}.
     */
    private static void divideImportance(Map<String, float[]> importance, String module, float[] s) {
        float[] imp = importance.get(module);
        float[] cum = importance.computeIfAbsent(module + SCALE_SUFFIX, k -> {
            float[] ones = new float[imp.length];
            java.util.Arrays.fill(ones, 1f);
            return ones;
        });
        for (int i = 0; i < imp.length; i++) {
            imp[i] /= s[i] * s[i];
            cum[i] *= s[i];
        }
    }

    private static final String SCALE_SUFFIX = "#scale";

    /** H of the input x / s: H_ij / (s_i s_j); {@code s} null = unscaled. */
    private static double[][] scaledHessian(double[][] h, float[] s) {
        if (s == null) {
            return h;
        }
        int n = h.length;
        double[][] out = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                out[i][j] = h[i][j] / ((double) s[i] * s[j]);
            }
        }
        return out;
    }

    private static float roundToDtype(float v, TensorView like) {
        return switch (like.type()) {
            case BF16 -> bf16ToFloat(floatToBf16(v));
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case F32 -> v;
            default -> throw new InvalidInputException(like.name() + ": unsupported dtype " + like.type());
        };
    }

    // ---- writing ---------------------------------------------------------------------------------------------

    /** The four GPTQ tensors of one linear, already packed. */
    private record PackedLinear(String name, int out, int in, IntQuantScheme scheme, int[] qweight, int[] qzeros,
                                short[] scales, int[] gIdx) {
        static PackedLinear of(QuantizedLinear q) {
            return new PackedLinear(q.name(), q.out(), q.in(), q.scheme(), GptqLayout.packQweight(q),
                    GptqLayout.packQzeros(q), GptqLayout.scalesFp16(q), q.gIdx());
        }

        int groups() {
            return scheme.groupCount(in);
        }
    }

    private static void writeTensors(HfCheckpoint src, Map<String, PackedLinear> quantized,
                                     Map<String, float[]> replacedSmall, Path file) {
        List<SafetensorsWriter.PlannedTensor> plan = new ArrayList<>();
        Map<String, Object> payload = new HashMap<>();
        for (String name : src.names()) {
            String module = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : null;
            if (module != null && quantized.containsKey(module)) {
                continue;
            }
            TensorView v = src.view(name);
            SafetensorsDtype dt = SafetensorsDtype.of(v.type()).orElseThrow(() -> new InvalidInputException(
                    name + ": type " + v.type() + " has no safetensors dtype"));
            plan.add(new SafetensorsWriter.PlannedTensor(name, dt, v.shape()));
            payload.put(name, name);
        }
        for (PackedLinear q : quantized.values()) {
            String m = q.name();
            int pf = q.scheme().packFactor();
            plan.add(new SafetensorsWriter.PlannedTensor(m + ".qweight", SafetensorsDtype.I32, new long[] {q.in() / pf, q.out()}));
            plan.add(new SafetensorsWriter.PlannedTensor(m + ".qzeros", SafetensorsDtype.I32,
                    new long[] {q.groups(), GptqLayout.qzerosWidth(q.out(), q.scheme())}));
            plan.add(new SafetensorsWriter.PlannedTensor(m + ".scales", SafetensorsDtype.F16, new long[] {q.groups(), q.out()}));
            plan.add(new SafetensorsWriter.PlannedTensor(m + ".g_idx", SafetensorsDtype.I32, new long[] {q.in()}));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        try (SafetensorsWriter w = SafetensorsWriter.begin(file, meta, plan, false); Arena arena = Arena.ofConfined()) {
            for (var info : w.order()) {
                String name = info.name();
                MemorySegment bytes;
                if (payload.containsKey(name)) {
                    float[] repl = replacedSmall.get(name);
                    TensorView v = src.view(name);
                    bytes = repl != null ? encodeLike(arena, repl, v) : src.rawBytes(name);
                } else {
                    int dot = name.lastIndexOf('.');
                    PackedLinear q = quantized.get(name.substring(0, dot));
                    bytes = switch (name.substring(dot + 1)) {
                        case "qweight" -> ints(arena, q.qweight());
                        case "qzeros" -> ints(arena, q.qzeros());
                        case "g_idx" -> ints(arena, q.gIdx());
                        case "scales" -> shorts(arena, q.scales());
                        default -> throw new IllegalStateException(name);
                    };
                }
                w.write(name, bytes);
            }
            w.finish();
        }
    }

    /** config.json with quantization_config, and quantize_config.json (what AutoGPTQ/GPTQModel look for). */
    private static void writeConfig(HfCheckpoint src, Options opt, Path dir) throws IOException {
        ObjectNode qc = quantizationConfig(opt);
        JsonNode cfg = src.configJson().deepCopy();
        ((ObjectNode) cfg).set("quantization_config", qc);
        Files.write(dir.resolve("config.json"), JSON.writeValueAsBytes(cfg));
        Files.write(dir.resolve("quantize_config.json"), JSON.writeValueAsBytes(qc));
    }

    /** The {@code quantization_config} object (SPEC.md §3). */
    public static ObjectNode quantizationConfig(Options opt) {
        ObjectNode qc = JSON.createObjectNode();
        IntQuantScheme s = opt.scheme();
        qc.put("quant_method", "gptq");
        qc.put("bits", s.bits());
        qc.put("group_size", s.groupSize());
        qc.put("desc_act", s.actOrder());
        qc.put("sym", s.symmetric());
        qc.put("damp_percent", opt.dampPercent());
        qc.put("true_sequential", false);
        qc.put("static_groups", false);
        qc.put("checkpoint_format", "gptq");
        ObjectNode meta = qc.putObject("meta");
        meta.put("quantizer", "falconq");
        meta.put("method", opt.method().name().toLowerCase());
        return qc;
    }

    private static void copyOtherFiles(Path srcDir, Path dir) throws IOException {
        try (Stream<Path> files = Files.list(srcDir)) {
            for (Path f : files.sorted(Comparator.naturalOrder()).toList()) {
                String n = f.getFileName().toString();
                if (!Files.isRegularFile(f) || n.endsWith(".safetensors") || n.equals("model.safetensors.index.json")
                        || n.equals("config.json") || n.equals("quantize_config.json")) {
                    continue;
                }
                Files.copy(f, dir.resolve(n));
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static LinearRole.Located locate(String module, FalconH1Config cfg) {
        for (int layer = 0; layer < cfg.numLayers(); layer++) {
            for (LinearRole r : LinearRole.perLayer()) {
                if (r.hfModulePath(layer).equals(module)) {
                    return new LinearRole.Located(layer, r);
                }
            }
        }
        throw new IllegalStateException(module);
    }

    /** The tensor's values as float32 (F32, F16 or BF16 storage). */
    public static float[] toFloats(TensorView v) {
        int n = Math.toIntExact(v.elementCount());
        float[] out = new float[n];
        MemorySegment d = v.data();
        switch (v.type()) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = d.get(F32, 4L * i);
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = bf16ToFloat(d.get(I16, 2L * i));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(d.get(I16, 2L * i));
                }
            }
            default -> throw new InvalidInputException(v.name() + ": type " + v.type()
                    + " cannot be quantized (expected F32, F16 or BF16)");
        }
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(out[i])) {
                throw new InvalidInputException(v.name() + ": element " + i + " is " + out[i] + " (NaN/Inf in weights)");
            }
        }
        return out;
    }

    private static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }

    /** Round to nearest even, as torch and ggml do. */
    private static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    private static MemorySegment encodeLike(Arena arena, float[] v, TensorView like) {
        return switch (like.type()) {
            case BF16 -> {
                short[] s = new short[v.length];
                for (int i = 0; i < v.length; i++) {
                    s[i] = floatToBf16(v[i]);
                }
                yield shorts(arena, s);
            }
            case F16 -> {
                short[] s = new short[v.length];
                for (int i = 0; i < v.length; i++) {
                    s[i] = Float.floatToFloat16(v[i]);
                }
                yield shorts(arena, s);
            }
            case F32 -> {
                MemorySegment m = arena.allocate(4L * v.length);
                for (int i = 0; i < v.length; i++) {
                    m.set(F32, 4L * i, v[i]);
                }
                yield m;
            }
            default -> throw new IllegalStateException(like.type().toString());
        };
    }

    private static MemorySegment ints(Arena arena, int[] v) {
        MemorySegment m = arena.allocate(4L * v.length);
        for (int i = 0; i < v.length; i++) {
            m.set(I32, 4L * i, v[i]);
        }
        return m;
    }

    private static MemorySegment shorts(Arena arena, short[] v) {
        MemorySegment m = arena.allocate(2L * v.length);
        for (int i = 0; i < v.length; i++) {
            m.set(I16, 2L * i, v[i]);
        }
        return m;
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
