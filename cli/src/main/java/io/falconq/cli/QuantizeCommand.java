package io.falconq.cli;

import io.falconq.cli.options.CalibrationDataOptions;
import io.falconq.cli.options.ChunkOptions;
import io.falconq.cli.options.DampOption;
import io.falconq.cli.pipeline.CalibrationTokens;
import io.falconq.cli.progress.Progress;
import io.falconq.formats.safetensors.SafetensorsShardPlan;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.calib.LinearRole;
import io.falconq.core.intquant.EngineShapeRules;
import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.jobs.intquant.AwqLoss;
import io.falconq.jobs.intquant.IntQuantCost;
import io.falconq.jobs.intquant.IntQuantJob;
import io.falconq.jobs.intquant.IntQuantMethod;
import io.falconq.core.model.FalconH1Config;
import io.falconq.runtime.text.HfTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** {@code falconq quantize}: int8/int4 weights in the GPTQ checkpoint layout for GPU engines. */
@Command(name = "quantize",
        description = {
                "Quantize every linear layer of a Hugging Face Falcon-H1 checkpoint to int8 (per output channel) or "
                        + "int4 (groups of input columns) and write a GPTQ-layout checkpoint folder (qweight/qzeros/"
                        + "scales/g_idx, quantization_config in config.json) that GPTQModel, transformers and vLLM load.",
                "Embeddings, lm_head, norms, conv1d, A_log, D and dt_bias stay as stored.",
                "Methods: rtn (round to nearest), clip (per-group clipping searched on the imatrix), awq "
                        + "(activation-aware scales folded into the preceding norm/projection, then clip), gptq "
                        + "(Hessian error feedback). All but rtn first run calibration text through the model."})
public final class QuantizeCommand extends JobCommand {
    @Parameters(index = "0", paramLabel = "MODEL", description = "Hugging Face Falcon-H1 model folder (BF16/F16/F32); "
            + "with --dry-run also a config.json alone.")
    private Path model;

    @Option(names = "--scheme", required = true, paramLabel = "w8|w4", description = "w8: int8; w4: int4.")
    private String scheme;

    @Option(names = "--group-size", paramLabel = "N",
            description = "Input columns per scale (default: 128 for w4, -1 = per output channel for w8).")
    private Integer groupSize;

    @Option(names = "--method", defaultValue = "rtn", paramLabel = "rtn|clip|awq|gptq",
            description = "Quantization method (default ${DEFAULT-VALUE}).")
    private String method;

    @Option(names = "--act-order", description = "GPTQ desc_act: quantize columns by decreasing Hessian diagonal.")
    private boolean actOrder;

    @Option(names = "--awq-loss", defaultValue = "normed-output", paramLabel = "normed-output|layer-output",
            description = "AWQ: what each candidate scale is scored on: the layer's output residual error, each "
                    + "token's relative to its own mean square as the next RMSNorm sees it (normed-output, default), "
                    + "or the plain squared error (layer-output).")
    private String awqLoss;

    @Option(names = "--dry-run", description = "Print the job's plan (peak memory, activation files on disk, time) "
            + "from the formulas the job is sized by, and quantize nothing.")
    private boolean dryRun;

    @Option(names = "--max-shard-size", defaultValue = "5GB", paramLabel = "SIZE",
            description = "Largest output shard, as save_pretrained's max_shard_size (5GB, 500MB, 2M, 1GiB; "
                    + "default ${DEFAULT-VALUE}); one shard is written as model.safetensors without an index.")
    private String maxShardSize;

    @Option(names = "--skip", split = ",", paramLabel = "LINEARS",
            description = "Leave these linears unquantized in every layer (in the checkpoint's dtype, declared by "
                    + "GPTQModel's quantization_config.dynamic '-:' rules): attn (q, k, v, o), ssm (in_proj, "
                    + "out_proj), mlp (gate, up, down), or one linear by its GGUF role: attn_q, attn_k, attn_v, "
                    + "attn_output, ssm_in, ssm_out, ffn_gate, ffn_up, ffn_down. E.g. --skip mlp (vLLM builds "
                    + "Falcon-H1's MLP unquantized).")
    private List<String> skip = new ArrayList<>();

    @Option(names = "--for-engine", paramLabel = "vllm-gptq|vllm-gptq-marlin",
            description = "Refuse (exit 3, before any work) a job whose quantized linears break that vLLM kernel "
                    + "path's shape rules or vLLM's Falcon-H1 model (quantized MLP); without it they are warnings.")
    private String forEngineName;
    private TargetEngine forEngine;

    @Option(names = "--asym", description = "Asymmetric zero points (sym=false); default symmetric, as Marlin kernels need.")
    private boolean asym;

    @Mixin
    private DampOption damp;

    /** Calibration text for clip/awq/gptq (default builtin:en). */
    @Mixin
    private CalibrationDataOptions calibration;

    @Mixin
    private ChunkOptions chunking;

    @Override
    public Integer call() {
        if (!dryRun) {
            output.required("DIR");
        }
        IntQuantMethod m = IntQuantMethod.ofLabel(method).orElseThrow(() -> new ParameterException(
                spec.commandLine(), "--method must be rtn, clip, awq or gptq, found " + method));
        int bits = switch (scheme) {
            case "w8" -> 8;
            case "w4" -> 4;
            default -> throw new ParameterException(spec.commandLine(), "--scheme must be w8 or w4, found " + scheme);
        };
        chunking.check(1, null);
        int gs = groupSize != null ? groupSize : bits == 4 ? 128 : -1;
        IntQuantScheme s;
        long maxShard;
        try {
            s = new IntQuantScheme(bits, gs, !asym, actOrder);
            maxShard = SafetensorsShardPlan.parseSize(maxShardSize);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        AwqLoss loss = AwqLoss.ofOptionName(awqLoss)
                .orElseThrow(() -> new ParameterException(spec.commandLine(),
                        "--awq-loss must be normed-output or layer-output, found " + awqLoss));
        if (!awqLoss.equals(AwqLoss.NORMED_OUTPUT.optionName()) && m != IntQuantMethod.AWQ) {
            throw new ParameterException(spec.commandLine(), "--awq-loss only applies to --method awq");
        }
        if (actOrder && m != IntQuantMethod.GPTQ) {
            throw new ParameterException(spec.commandLine(), "--act-order only applies to --method gptq");
        }
        Set<LinearRole> unquantized = unquantizedLinears();
        if (forEngineName != null) {
            forEngine = TargetEngine.parse(forEngineName);
            if (forEngine == null) {
                throw new ParameterException(spec.commandLine(), "--for-engine " + forEngineName
                        + ": expected vllm-gptq or vllm-gptq-marlin");
            }
        }
        checkEngineShapes(model, s, unquantized, spec.commandLine().getErr());
        if (dryRun) {
            printPlan(s, m);
            return ExitCodes.OK;
        }
        Path out = output.outputOr(null).toAbsolutePath();
        PrintWriter err = spec.commandLine().getErr();
        CalibrationTokens tokens = m.needsCalibration() ? calibrationTokens() : null;
        IntQuantJob.Options options = new IntQuantJob.Options(s, m, damp.percent(),
                loss, maxShard, threads.threads(), tokens == null ? null : tokens.metadata(), unquantized);
        int[][] sequences = tokens == null ? null : tokens.sequences();
        IntQuantJob.Report report;
        try (Progress progress = progress("quantize")) {
            report = IntQuantJob.run(model, options, sequences, out, output.force(), progress);
        }
        err.printf("quantize: %s %s (bits %d, group %d, sym %s, desc_act %s): %d linear layers%s in %.1f s -> %s "
                        + "(%d shard%s)%n", scheme, method, bits, gs, !asym, actOrder, report.linears(),
                report.layersResumed() > 0 ? " (resumed after layer " + report.layersResumed() + ")" : "",
                report.seconds(), out, report.shards(), report.shards() == 1 ? "" : "s");
        err.printf("quantize: time by phase: %s%n", report.phases());
        err.flush();
        return ExitCodes.OK;
    }

    /**
     * What vLLM's GPTQ kernels could not load ({@link EngineShapeRules}, tensor parallelism 1) among the linears the
     * job quantizes. Without {@code --for-engine} they are warnings (the folder is still the documented GPTQ layout,
     * which falconq's runtime and the reference decoder read); with it, the rules of that engine path and of vLLM's
     * Falcon-H1 model refuse the job before any work (exit 3, every broken rule named).
     */
    private void checkEngineShapes(Path model, IntQuantScheme s, Set<LinearRole> unquantized, PrintWriter err) {
        boolean folder = Files.isDirectory(model);
        FalconH1Config c;
        try {
            c = FalconH1Config.read(folder ? model.resolve("config.json") : model);
        } catch (InvalidInputException e) {
            if (forEngine != null) {
                throw e;
            }
            return; // the job itself reports what is wrong with the model
        }
        long[][] shapes = IntQuantCost.linearShapes(c);
        LinearRole[] roles = LinearRole.perLayer();
        List<String> refused = new ArrayList<>();
        for (int i = 0; i < roles.length; i++) {
            if (unquantized.contains(roles[i])) {
                continue;
            }
            boolean mlp = roles[i].inputGroup() == LinearRole.InputGroup.FFN_NORM
                    || roles[i].inputGroup() == LinearRole.InputGroup.FFN_ACT;
            for (EngineShapeRules.Violation v : EngineShapeRules.check(new EngineShapeRules.Linear(
                    roles[i].hfModulePath(0).replace(".0.", ".*."), shapes[i][0], shapes[i][1], s.bits(),
                    s.groupSize(), mlp))) {
                if (forEngine == null) {
                    err.println("quantize: warning: " + v.message());
                } else if (v.engine() == forEngine.engine || v.engine() == EngineShapeRules.Engine.VLLM_FALCON_H1) {
                    refused.add(v.message());
                }
            }
        }
        if (!refused.isEmpty()) {
            throw new InvalidInputException("--for-engine " + forEngine.optionName + ": " + String.join("; ", refused)
                    + " (--skip leaves linears unquantized)");
        }
    }

    /** {@code --for-engine}: the engine path whose shape rules must hold. */
    enum TargetEngine {
        VLLM_GPTQ("vllm-gptq", EngineShapeRules.Engine.VLLM_GPTQ),
        VLLM_GPTQ_MARLIN("vllm-gptq-marlin", EngineShapeRules.Engine.VLLM_GPTQ_MARLIN);

        final String optionName;
        final EngineShapeRules.Engine engine;

        TargetEngine(String optionName, EngineShapeRules.Engine engine) {
            this.optionName = optionName;
            this.engine = engine;
        }

        static TargetEngine parse(String name) {
            for (TargetEngine e : values()) {
                if (e.optionName.equals(name)) {
                    return e;
                }
            }
            return null;
        }
    }

    /** {@code --skip}: groups (attn, ssm, mlp) and single linears by their GGUF role name; exit 2 for anything else. */
    private Set<LinearRole> unquantizedLinears() {
        Set<LinearRole> set = EnumSet.noneOf(LinearRole.class);
        for (String item : skip) {
            String name = item.trim().toLowerCase(java.util.Locale.ROOT);
            switch (name) {
                case "attn" -> set.addAll(List.of(LinearRole.ATTN_Q, LinearRole.ATTN_K, LinearRole.ATTN_V,
                        LinearRole.ATTN_OUTPUT));
                case "ssm" -> set.addAll(List.of(LinearRole.SSM_IN, LinearRole.SSM_OUT));
                case "mlp" -> set.addAll(List.of(LinearRole.FFN_GATE, LinearRole.FFN_UP, LinearRole.FFN_DOWN));
                default -> set.add(java.util.Arrays.stream(LinearRole.perLayer())
                        .filter(r -> r.ggufRoleName().equals(name)).findFirst()
                        .orElseThrow(() -> new ParameterException(spec.commandLine(), "--skip " + item
                                + ": not attn, ssm, mlp or a linear's GGUF role (attn_q, attn_k, attn_v, attn_output, "
                                + "ssm_in, ssm_out, ffn_gate, ffn_up, ffn_down)")));
            }
        }
        if (set.size() == LinearRole.perLayer().length) {
            throw new ParameterException(spec.commandLine(), "--skip leaves every linear unquantized: nothing to quantize");
        }
        return set;
    }

    /**
     * The plan of {@link IntQuantCost#plan}: from a checkpoint folder, the calibration sequences are counted with
     * its tokenizer; from a config alone, {@code --chunks} (or the text at about 4 bytes per token) gives them.
     */
    private void printPlan(IntQuantScheme s, IntQuantMethod m) {
        boolean folder = Files.isDirectory(model);
        FalconH1Config c = FalconH1Config.read(folder ? model.resolve("config.json") : model);
        int sequences;
        String how;
        if (!m.needsCalibration()) {
            sequences = 0;
            how = "no calibration";
        } else if (folder && HfTokenizer.folderHolding(model) != null) {
            sequences = calibrationTokens().sequences().length;
            how = sequences + " sequences of " + chunking.ctx() + " tokens of " + calibrationLabel();
        } else {
            long bytes = calibration.sources(DEFAULT_DATA).texts().stream()
                    .mapToLong(t -> t.input().text().getBytes(java.nio.charset.StandardCharsets.UTF_8).length).sum();
            long estimate = bytes / 4 / chunking.ctx();
            int chunks = chunking.chunks();
            sequences = (int) (chunks > 0 ? Math.min(chunks, Math.max(1, estimate)) : Math.max(1, estimate));
            how = sequences + " sequences of " + chunking.ctx() + " tokens of " + calibrationLabel()
                    + " (estimated at 4 bytes per token)";
        }
        IntQuantCost.Plan plan = IntQuantCost.plan(c, m, s, sequences, chunking.ctx(), 2, threads.threads());
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "quantize plan: %s %s, %d layers, %s%n", scheme, method, c.numLayers(), how);
        out.printf(Locale.ROOT, "  peak resident memory  %.2f GiB%n", plan.peakBytes() / (double) (1L << 30));
        out.printf(Locale.ROOT, "  activation files      %.2f GiB (in the output's partial folder, deleted at the end)%n",
                plan.spillBytes() / (double) (1L << 30));
        out.printf(Locale.ROOT, "  time                  %.1f h wall with %d threads (%.1f CPU-hours)%n",
                plan.wallSeconds() / 3600, threads.threads(), plan.cpuSeconds() / 3600);
        out.flush();
    }

    private static final String DEFAULT_DATA = "builtin:en";

    private String calibrationLabel() {
        return calibration.sources(DEFAULT_DATA).label();
    }

    /** The calibration text as {@code --chunks} sequences of {@code --ctx} tokens ({@link CalibrationTokens}). */
    private CalibrationTokens calibrationTokens() {
        try (HfTokenizer tok = HfTokenizer.besideModel(model, "needed for calibration")) {
            return calibration.tokens(calibration.sources(DEFAULT_DATA), tok, chunking.ctx(), chunking.chunks());
        }
    }
}
