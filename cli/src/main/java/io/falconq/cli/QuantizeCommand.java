package io.falconq.cli;

import io.falconq.calib.LinearInputStats;
import io.falconq.cli.options.OutputOptions;
import io.falconq.cli.options.ThreadsOption;
import io.falconq.cli.options.VerbosityMixin;
import io.falconq.cli.progress.Progress;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.intquant.GptqCheckpointWriter;
import io.falconq.intquant.GptqQuantizer;
import io.falconq.intquant.IntQuantScheme;
import io.falconq.model.FalconH1Config;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.calib.CalibrationRunner;
import io.falconq.runtime.text.HfTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

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
public final class QuantizeCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Hugging Face Falcon-H1 model folder (BF16/F16/F32).")
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

    /** {@code --awq-loss}: what AWQ's scale search scores its candidates on. */
    enum AwqLoss {
        /** KL divergence of the next-token distribution, rest of the network in float (default; slower). */
        output,
        /** AutoAWQ's block-output losses (MLP output, mixer output, linear outputs): much faster, less accurate. */
        block
    }

    @Option(names = "--awq-loss", defaultValue = "output", paramLabel = "output|block",
            description = "AWQ: score scale candidates on the model's next-token distribution (output, default) or on "
                    + "each block's output as AutoAWQ does (block: far faster on big models, less accurate).")
    private AwqLoss awqLoss;

    @Option(names = "--asym", description = "Asymmetric zero points (sym=false); default symmetric, as Marlin kernels need.")
    private boolean asym;

    @Option(names = "--damp", defaultValue = "0.01", paramLabel = "F",
            description = "GPTQ damp_percent (default ${DEFAULT-VALUE}).")
    private double damp;

    @Option(names = "--data", defaultValue = "builtin:en", paramLabel = "TEXT",
            description = "Calibration text for clip/awq/gptq: builtin:NAME or a file (default ${DEFAULT-VALUE}).")
    private String data;

    @Option(names = "--ctx", defaultValue = "512", paramLabel = "N", description = "Calibration chunk length.")
    private int ctx;

    @Option(names = "--chunks", defaultValue = "-1", paramLabel = "N", description = "At most N calibration chunks.")
    private int chunks;

    @Mixin
    private OutputOptions output;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private VerbosityMixin verbosity;

    @Override
    public Integer call() {
        if (output.output() == null) {
            throw new ParameterException(spec.commandLine(), "missing -o/--output DIR");
        }
        GptqCheckpointWriter.Method m;
        try {
            m = GptqCheckpointWriter.Method.valueOf(method.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--method must be rtn, clip, awq or gptq, found " + method);
        }
        int bits = switch (scheme) {
            case "w8" -> 8;
            case "w4" -> 4;
            default -> throw new ParameterException(spec.commandLine(), "--scheme must be w8 or w4, found " + scheme);
        };
        int gs = groupSize != null ? groupSize : bits == 4 ? 128 : -1;
        IntQuantScheme s;
        try {
            s = new IntQuantScheme(bits, gs, !asym, actOrder);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (awqLoss != AwqLoss.output && m != GptqCheckpointWriter.Method.AWQ) {
            throw new ParameterException(spec.commandLine(), "--awq-loss only applies to --method awq");
        }
        if (actOrder && m != GptqCheckpointWriter.Method.GPTQ) {
            throw new ParameterException(spec.commandLine(), "--act-order only applies to --method gptq");
        }
        Path out = output.outputOr(null).toAbsolutePath();
        if (Files.exists(out) && !output.force()) {
            throw new io.falconq.formats.io.OutputException(out + ": output exists (use --force to overwrite)");
        }
        PrintWriter err = spec.commandLine().getErr();

        LinearInputStats stats = null;
        if (m.needsCalibration()) {
            String text = CalibrateCommand.readText(data);
            LinearInputStats.AwqSamples samples = m != GptqCheckpointWriter.Method.AWQ
                    ? LinearInputStats.AwqSamples.NONE
                    : awqLoss == AwqLoss.block ? LinearInputStats.AwqSamples.BLOCK : LinearInputStats.AwqSamples.OUTPUT;
            stats = new LinearInputStats(m == GptqCheckpointWriter.Method.GPTQ || m == GptqCheckpointWriter.Method.AWQ,
                    samples);
            try (FalconH1Model fm = FalconH1Model.load(model)) {
                if (fm.format() != FalconH1Model.Format.HF_SAFETENSORS) {
                    throw new InvalidInputException(model + ": quantize needs a Hugging Face checkpoint folder");
                }
                Path tokDir = fm.tokenizerDir().orElseThrow(() -> new InvalidInputException(model
                        + ": no tokenizer.json beside the model (needed for calibration)"));
                int[] ids;
                int bos;
                try (HfTokenizer tok = HfTokenizer.load(tokDir)) {
                    ids = tok.encodeForModel(text);
                    bos = tok.addsBos() && tok.bosId().isPresent() ? tok.bosId().getAsInt() : -1;
                }
                try (Progress progress = Progress.create(spec, verbosity, "calibrate")) {
                    CalibrationRunner.Summary sum = CalibrationRunner.run(fm, threads.threads(), ids, bos, ctx, chunks,
                            stats, progress);
                    err.printf("quantize: calibration on %s: %d chunks, %d tokens in %.1f s (%.0f tokens/s)%n", data,
                            sum.chunks(), sum.tokens(), sum.seconds(), sum.tokensPerSecond());
                }
            }
        }
        GptqCheckpointWriter.Report report;
        try (HfCheckpoint src = HfCheckpoint.open(model);
             Progress progress = Progress.create(spec, verbosity, "quantize")) {
            FalconH1Config cfg = FalconH1Config.parse(src.configJson(), src.dir().resolve("config.json").toString());
            report = GptqCheckpointWriter.write(src, cfg, stats, new GptqCheckpointWriter.Options(s, m,
                    damp > 0 ? damp : GptqQuantizer.DEFAULT_DAMP_PERCENT), out, output.force(), progress);
        }
        err.printf("quantize: %s %s (bits %d, group %d, sym %s, desc_act %s): %d linear layers in %.1f s -> %s%n",
                scheme, method, bits, gs, !asym, actOrder, report.linears().size(), report.seconds(), out);
        err.flush();
        return ExitCodes.OK;
    }
}
