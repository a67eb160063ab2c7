package io.falconq.jobs.intquant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.core.calib.LinearRole;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.AtomicFolder;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.ProgressListener;
import io.falconq.formats.io.Sha256;
import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsShardPlan;
import io.falconq.formats.safetensors.SafetensorsWriter.PlannedTensor;
import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorNameMap;
import io.falconq.runtime.FalconH1Model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code falconq quantize}'s job: plan ({@link #plan}: the output's tensors and shards), run
 * ({@link LayerSequentialRun}: the layer loop over the calibration sequences), write ({@link GptqFolderWriter}:
 * staged layers into shards, configs, the source's other files), all inside one {@link AtomicFolder} that a killed
 * job resumes from.
 */
public final class IntQuantJob {
    /** Hugging Face's default {@code max_shard_size} for {@code save_pretrained}. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    /**
     * @param scheme        bits, group size, symmetry, act-order
     * @param dampPercent   GPTQ's damping (fraction of the mean Hessian diagonal)
     * @param awqLoss       what AWQ's scale search scores candidates on (ignored by the other methods)
     * @param maxShardBytes output shard size limit
     * @param threads       the job's one worker pool
     * @param calibration   what the calibration sequences were made from (text, languages, token counts, SHA-256),
     *                      written as {@code quantization_config.meta.calibration}; null for none
     * @param unquantized   linears left in the checkpoint's own dtype in every layer, declared to the engines by
     *                      GPTQModel's {@code dynamic} negative rules ({@link #quantizationConfig})
     */
    public record Options(IntQuantScheme scheme, IntQuantMethod method, double dampPercent, AwqLoss awqLoss,
                          long maxShardBytes, int threads, ObjectNode calibration, Set<LinearRole> unquantized) {
        public Options {
            unquantized = unquantized.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(unquantized));
            if (unquantized.size() == LinearRole.perLayer().length) {
                throw new InvalidInputException("every linear would be left unquantized: nothing to quantize");
            }
        }

        public Options(IntQuantScheme scheme, IntQuantMethod method, double dampPercent, AwqLoss awqLoss,
                       long maxShardBytes, int threads, ObjectNode calibration) {
            this(scheme, method, dampPercent, awqLoss, maxShardBytes, threads, calibration, Set.of());
        }

        public Options(IntQuantScheme scheme, IntQuantMethod method, double dampPercent, AwqLoss awqLoss,
                       long maxShardBytes, int threads) {
            this(scheme, method, dampPercent, awqLoss, maxShardBytes, threads, null);
        }
    }

    /**
     * What a run did.
     *
     * @param phases where the wall time went, e.g. {@code "forward 410.2 s, statistics 96.0 s, solve 38.1 s, …"}
     */
    public record Report(int linears, int layersResumed, int shards, double seconds, String phases) {
    }

    private IntQuantJob() {
    }

    /** The output's tensors in shard order, split into shards. */
    public static SafetensorsShardPlan plan(HfCheckpoint src, IntQuantScheme scheme, long maxShardBytes,
                                            FalconH1Config config) {
        return plan(src, scheme, maxShardBytes, config, Set.of());
    }

    /**
     * The same, with {@code unquantized} linears copied in their stored dtype; the tensors copied as stored are
     * refused here, before any work, if they hold NaN/Inf.
     */
    public static SafetensorsShardPlan plan(HfCheckpoint src, IntQuantScheme scheme, long maxShardBytes,
                                            FalconH1Config config, Set<LinearRole> unquantized) {
        SafetensorsShardPlan plan = SafetensorsShardPlan.split(GptqFolderWriter.plannedTensors(
                GptqFolderWriter.storedTensors(src), config, scheme, unquantized), maxShardBytes);
        GptqFolderWriter.requireFiniteCopies(src, plan.tensors());
        return plan;
    }

    /**
     * Every file {@link #run} writes from {@code src} with {@code opt}, and its size, without reading tensor data:
     * exact, but for the calibration record of a calibrated method ({@code opt.calibration()}), whose digits
     * depend on the tokens.
     */
    public static GptqFolderPlan planFolder(HfCheckpoint src, FalconH1Config config, Options opt) {
        Map<String, Long> copied = new LinkedHashMap<>();
        try {
            for (Path f : GptqFolderWriter.copiedFiles(src.dir())) {
                copied.put(f.getFileName().toString(), Files.size(f));
            }
        } catch (IOException e) {
            throw new InvalidInputException(src.dir() + ": cannot list: " + e.getMessage(), e);
        }
        return GptqFolderPlan.of(SafetensorsShardPlan.split(GptqFolderWriter.plannedTensors(
                GptqFolderWriter.storedTensors(src), config, opt.scheme(), opt.unquantized()), opt.maxShardBytes()),
                src.configJson(), quantizationConfig(opt), copied);
    }

    /**
     * The same for a checkpoint known only by its config (its tensors as {@code save_pretrained} stores them, in
     * {@code dtype}; no lm_head when the embeddings are tied), without the source folder's other files.
     */
    public static GptqFolderPlan planFolder(FalconH1Config config, JsonNode configJson, SafetensorsDtype dtype,
                                            Options opt) {
        List<PlannedTensor> stored = new ArrayList<>();
        for (TensorNameMap.RoleAt tensor : TensorNameMap.stored(config)) {
            stored.add(new PlannedTensor(tensor.hfName(), dtype, tensor.role().hfShape(config)));
        }
        return GptqFolderPlan.of(SafetensorsShardPlan.split(GptqFolderWriter.plannedTensors(stored, config,
                opt.scheme(), opt.unquantized()), opt.maxShardBytes()), configJson, quantizationConfig(opt), Map.of());
    }

    /**
     * Quantizes the HF checkpoint {@code model} into the GPTQ-layout folder {@code out}.
     *
     * @param sequences calibration token ids, one row per sequence of equal length (BOS already in place); unused
     *                  by {@link IntQuantMethod#RTN}
     */
    public static Report run(Path model, Options opt, int[][] sequences, Path out, boolean force,
                             ProgressListener progress) {
        long t0 = System.nanoTime();
        JobPhases phases = new JobPhases();
        if (opt.method().needsCalibration() && (sequences == null || sequences.length == 0)) {
            throw new IllegalArgumentException(opt.method() + " needs calibration sequences");
        }
        try (FalconH1Model loaded = FalconH1Model.load(model)) {
            if (loaded.format() != FalconH1Model.Format.HF_SAFETENSORS
                    || !(loaded.source() instanceof HfCheckpoint checkpoint)) {
                throw new InvalidInputException(model + ": quantize needs a Hugging Face checkpoint folder");
            }
            SafetensorsShardPlan plan = plan(checkpoint, opt.scheme(), opt.maxShardBytes(), loaded.config(),
                    opt.unquantized());
            try (AtomicFolder folder = AtomicFolder.resume(out, force, jobKey(checkpoint, opt, sequences))) {
                Path work = folder.folder().resolve(".work");
                try {
                    java.nio.file.Files.createDirectories(work);
                } catch (java.io.IOException e) {
                    throw new io.falconq.formats.io.OutputException(work + ": cannot create: " + e.getMessage(), e);
                }
                int resumed = LayerSequentialRun.layersDone(work);
                LayerSequentialRun.run(loaded, checkpoint, opt, sequences, work, progress, phases);
                try (var write = phases.enter(JobPhases.Phase.WRITE)) {
                    GptqFolderWriter.assemble(folder.folder(), work, checkpoint, plan, loaded.config().numLayers());
                    GptqFolderWriter.writeConfigAndFiles(checkpoint, quantizationConfig(opt), folder.folder());
                    AtomicFolder.deleteRecursively(work);
                    folder.commit();
                }
                int linears = loaded.config().numLayers() * (LinearRole.perLayer().length - opt.unquantized().size());
                return new Report(linears, resumed, plan.shards().size(), (System.nanoTime() - t0) / 1e9,
                        phases.summary());
            }
        }
    }

    /** The {@code quantization_config} object (SPEC.md §3), as GPTQModel writes it. */
    public static ObjectNode quantizationConfig(Options opt) {
        ObjectNode qc = new ObjectMapper().createObjectNode();
        IntQuantScheme s = opt.scheme();
        qc.put("quant_method", "gptq");
        qc.put("bits", s.bits());
        qc.put("group_size", s.groupSize());
        qc.put("desc_act", s.actOrder());
        qc.put("sym", s.symmetric());
        qc.put("damp_percent", opt.dampPercent());
        qc.put("true_sequential", opt.method().needsCalibration());
        qc.put("static_groups", false);
        qc.put("checkpoint_format", "gptq");
        if (!opt.unquantized().isEmpty()) {
            // GPTQModel's per-module overrides, read by GPTQModel and vLLM (gptq_utils.get_dynamic_override): a key
            // "-:REGEX" re.match-ed against a module's name leaves that module unquantized
            ObjectNode dynamic = qc.putObject("dynamic");
            for (String pattern : unquantizedModulePatterns(opt.unquantized())) {
                dynamic.putObject("-:" + pattern);
            }
        }
        ObjectNode meta = qc.putObject("meta");
        meta.put("quantizer", "falconq");
        meta.put("method", opt.method().label());
        if (opt.method() == IntQuantMethod.AWQ) {
            meta.put("awq_loss", opt.awqLoss().optionName());
        }
        if (opt.calibration() != null && opt.method().needsCalibration()) {
            meta.set("calibration", opt.calibration().deepCopy());
        }
        return qc;
    }

    /**
     * The {@code dynamic} keys' regexes for the unquantized linears in every layer, e.g.
     * {@code model\\.layers\\.\\d+\\.feed_forward\\.down_proj}; when every part of a projection vLLM fuses is
     * unquantized (q/k/v into {@code qkv_proj}, gate/up into {@code gate_up_proj}), the fused name too, since vLLM
     * asks with that name.
     */
    static List<String> unquantizedModulePatterns(Set<LinearRole> unquantized) {
        List<String> modules = new ArrayList<>();
        for (LinearRole role : unquantized) {
            modules.add(role.hfModulePath(0));
        }
        if (unquantized.containsAll(EnumSet.of(LinearRole.ATTN_Q, LinearRole.ATTN_K, LinearRole.ATTN_V))) {
            modules.add("model.layers.0.self_attn.qkv_proj");
        }
        if (unquantized.containsAll(EnumSet.of(LinearRole.FFN_GATE, LinearRole.FFN_UP))) {
            modules.add("model.layers.0.feed_forward.gate_up_proj");
        }
        String prefix = "model.layers.0.";
        List<String> patterns = new ArrayList<>();
        for (String module : modules) {
            if (!module.startsWith(prefix)) {
                throw new IllegalStateException(module + " is not a per-layer module");
            }
            patterns.add("model\\.layers\\.\\d+\\." + module.substring(prefix.length()).replace(".", "\\."));
        }
        return patterns;
    }

    /** What makes two runs the same job: the source files, the options, the calibration tokens. */
    static String jobKey(HfCheckpoint src, Options opt, int[][] sequences) {
        MessageDigest d = Sha256.newDigest();
        d.update(src.dir().toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8));
        for (var shard : src.shards()) {
            d.update((shard.path().getFileName() + ":" + shard.fileSize()).getBytes(StandardCharsets.UTF_8));
        }
        // the thread count is not part of it: the bytes do not depend on it
        d.update((opt.scheme() + " " + opt.method() + " " + opt.dampPercent() + " " + opt.awqLoss() + " "
                + opt.maxShardBytes() + " " + opt.unquantized())
                .getBytes(StandardCharsets.UTF_8));
        if (opt.method().needsCalibration()) {
            ByteBuffer b = ByteBuffer.allocate(4);
            for (int[] seq : sequences) {
                for (int id : seq) {
                    d.update(b.putInt(0, id).array());
                }
                d.update((byte) '\n');
            }
        }
        return "int-quant " + HexFormat.of().formatHex(d.digest());
    }
}
