package io.falconq.cli.pipeline;

import io.falconq.core.convert.recipe.FallbackChain;
import io.falconq.core.convert.recipe.RecipeContext;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufSplit;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.safetensors.SafetensorsFile;
import io.falconq.jobs.intquant.IntQuantCost;
import io.falconq.jobs.sensitivity.SensitivityJob;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.TensorRole;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.LogProbRecord;
import io.falconq.runtime.text.HfTokenizer;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code falconq pipeline --dry-run}: every step the pipeline would run, with the size of what it writes
 * ({@link ArtifactPlanner}: the converter's own plan) and its expected time and memory ({@link CostModel}).
 * Nothing is read beyond headers, configs and the texts; nothing is written.
 */
public final class DryRunPlanner {
    /**
     * Characters per token of an English byte-level BPE text, for counting tokens without a tokenizer (a config
     * alone): the tiny model's tokenizer turns {@code corpus/valid.txt}'s 159,529 bytes into about 40,000 tokens.
     */
    static final double BYTES_PER_TOKEN = 4.0;

    /** Windows assumed when neither --eval-data nor --chunks says how many. */
    static final int ASSUMED_WINDOWS = 100;

    /**
     * Peak resident memory of a conversion, independent of the model size: GgufConversion streams bounded row
     * chunks and unloads each source tensor's pages after use. Measured: 177 MB max RSS (JVM included) for the
     * 0.5B synthetic checkpoint to Q8_0, Q4_K_M and Q2_K; 179-181 MiB (Q4_K_M, -t 2, 6 runs, tests/bench/convert-ab.sh)
     * since a round holds 16 chunks per thread (GgufConversion.CHUNKS_PER_THREAD_AND_ROUND, 8 MiB of buffers at -t 2).
     */
    static final long CONVERT_PEAK_BYTES = 185L << 20;

    /**
     * {@code evalTexts} null: none given; {@code calibText}: the calibration texts end to end (amount only);
     * {@code ggufSplit}: how GGUF variants are split, as {@link PipelineSettings#ggufSplit()} (null: one file).
     */
    public record Options(EvalProtocol protocol, int ctx, int chunks, TextSources evalTexts, TextInput calibText,
                          int calibCtx, int calibChunks, double dampPercent, int threads,
                          SensitivityJob.Method measureMethod, int measureChunks, GgufSplit.Rule ggufSplit) {
        /** With {@code falconq measure}'s default method, GGUFs in one file. */
        public Options(EvalProtocol protocol, int ctx, int chunks, TextSources evalTexts, TextInput calibText,
                       int calibCtx, int calibChunks, double dampPercent, int threads) {
            this(protocol, ctx, chunks, evalTexts, calibText, calibCtx, calibChunks, dampPercent, threads,
                    SensitivityJob.Method.DIRECT, SensitivityJob.DEFAULT_CHUNKS, null);
        }
    }

    /**
     * One step: what it writes ({@code artifact} null for none) and its cost.
     *
     * @param memoryBytes peak resident memory: the weights it maps or holds plus its working buffers
     */
    public record Step(String label, Path artifact, long artifactBytes, boolean exact, double seconds, long memoryBytes) {
    }

    /** A model's steps and the token counts they assume. */
    public record ModelPlan(ModelInput model, long parameterCount, List<Step> steps,
                            List<ArtifactPlanner.PlannedArtifact> artifacts, String tokenNote) {
        public double seconds() {
            return steps.stream().mapToDouble(Step::seconds).sum();
        }

        public long peakMemory() {
            return steps.stream().mapToLong(Step::memoryBytes).max().orElse(0);
        }
    }

    public record Plan(List<ModelPlan> models, int threads) {
    }

    private DryRunPlanner() {
    }

    public static Plan plan(List<ModelInput> models, List<VariantSpec> variants, Options options) {
        List<ModelPlan> plans = new ArrayList<>();
        for (ModelInput model : models) {
            plans.add(planModel(model, variants, options));
        }
        return new Plan(plans, options.threads());
    }

    private record Tokens(long evalTokens, long scoredTokens, int windows, long calibTokens, int calibChunks,
                          String note) {
    }

    static ModelPlan planModel(ModelInput model, List<VariantSpec> variants, Options options) {
        FalconH1Config c = model.config();
        Tokens tokens = countTokens(model, options);
        long perToken = CostModel.weightsPerToken(c);
        long working = CostModel.RUNTIME_BASE_BYTES
                + CostModel.forwardWorkingBytes(c, Math.max(options.ctx(), options.calibCtx()));
        long originalBytes = originalWeightBytes(model);
        List<Step> steps = new ArrayList<>();
        List<ArtifactPlanner.PlannedArtifact> artifacts = new ArrayList<>();

        long logitsBytes = 32 + 4 * (tokens.evalTokens() + 1)
                + tokens.scoredTokens() * (long) LogProbRecord.bytes(c.vocabSize());
        double evalCpu = tokens.evalTokens() * (double) perToken * CostModel.FORWARD_NS_PER_WEIGHT_TOKEN;
        steps.add(new Step("original: evaluate, save log-probabilities", BaselineEvalStep.logitsPath(model),
                logitsBytes, false, CostModel.wallSeconds(evalCpu, options.threads()), originalBytes + working));

        boolean anyAuto = variants.stream().anyMatch(v -> v instanceof VariantSpec.Auto);
        boolean anyImatrix = anyAuto || variants.stream().anyMatch(v -> v instanceof VariantSpec.Gguf g && g.imatrix());
        if (anyImatrix) {
            // the int-quant jobs run the calibration text layer by layer themselves (priced with each variant)
            double cpu = tokens.calibTokens() * (double) perToken * CostModel.FORWARD_NS_PER_WEIGHT_TOKEN;
            steps.add(new Step("calibrate (" + tokens.calibChunks() + " chunks of " + options.calibCtx() + ")",
                    ImatrixStep.path(model), imatrixFileBytes(c), false, CostModel.wallSeconds(cpu, options.threads()),
                    originalBytes + working));
        }

        ArtifactPlanner.ImatrixLabel label = new ArtifactPlanner.ImatrixLabel(ImatrixStep.fileName(model),
                options.calibText().label(), Math.max(1, tokens.calibChunks()));
        if (anyAuto) {
            steps.add(AutoVariantPlanner.measureStep(model, options, tokens.calibChunks()));
        }
        HfCheckpoint checkpoint = model.configOnly() ? null : HfCheckpoint.open(model.path());
        try {
            for (VariantSpec variant : variants) {
                switch (variant) {
                    case VariantSpec.Gguf gguf -> {
                        ArtifactPlanner.PlannedArtifact a = ArtifactPlanner.planGguf(model, checkpoint, gguf, label,
                                options.ggufSplit());
                        artifacts.add(a);
                        double cpu = convertCpuNanos(c, gguf);
                        steps.add(new Step(variant.name() + ": convert to GGUF", a.path(), a.fileBytes(), a.exact(),
                                CostModel.wallSeconds(cpu, options.threads()), CONVERT_PEAK_BYTES));
                    }
                    case VariantSpec.Auto auto -> {
                        ArtifactPlanner.PlannedArtifact a = AutoVariantPlanner.plan(model, checkpoint, auto, label,
                                options.ggufSplit());
                        artifacts.add(a);
                        double cpu = convertCpuNanos(c, AutoVariantPlanner.fileTypeGuess(auto));
                        steps.add(new Step(variant.name() + ": allocate, convert", a.path(), a.fileBytes(), false, CostModel.wallSeconds(cpu, options.threads()),
                                CONVERT_PEAK_BYTES));
                    }
                    case VariantSpec.IntQuant q -> {
                        ArtifactPlanner.PlannedArtifact a = ArtifactPlanner.planGptq(model, checkpoint, q, options.dampPercent());
                        artifacts.add(a);
                        // the job's own formulas: the layer loop's memory and its forward, Hessians, GPTQ, AWQ
                        IntQuantCost.Plan plan = IntQuantCost.plan(c, q.intQuantMethod(), q.scheme(), tokens.calibChunks(),
                                options.calibCtx(), 2, options.threads());
                        steps.add(new Step(variant.name() + ": quantize to int" + q.scheme().bits() + " ("
                                + q.method() + ")", a.path(), a.fileBytes(), a.exact(), plan.wallSeconds(),
                                plan.peakBytes()));
                    }
                }
                ArtifactPlanner.PlannedArtifact made = artifacts.getLast();
                steps.add(new Step(variant.name() + ": evaluate", null, -1, true,
                        CostModel.wallSeconds(evalCpu, options.threads()), made.fileBytes() + working + logitsBytes / 8));
            }
        } finally {
            if (checkpoint != null) {
                checkpoint.close();
            }
        }
        return new ModelPlan(model, model.parameterCount(), steps, artifacts, tokens.note());
    }

    private static Tokens countTokens(ModelInput model, Options options) {
        EvalProtocol protocol = options.protocol();
        Path tokenizer = model.configOnly() ? null : model.path().resolve("tokenizer.json");
        if (options.evalTexts() != null && tokenizer != null && Files.isRegularFile(tokenizer)) {
            try (HfTokenizer tok = HfTokenizer.load(model.path())) {
                long run = 0;
                long scored = 0;
                int windows = 0;
                // each text is windowed on its own, --chunks per text (EvalTexts)
                for (TextSources.Text t : options.evalTexts().texts()) {
                    int[] ids = tok.encodeForModel(t.input().text());
                    for (EvalProtocol.Window w : protocol.windows(ids, options.ctx(), tok.addedBosId(),
                            options.chunks())) {
                        run += w.length();
                        scored += w.scoredCount();
                        windows++;
                    }
                }
                long calib = calibTokens(tok.encodeForModel(options.calibText().text()).length, options);
                return new Tokens(run, scored, windows, calib * options.calibCtx(), (int) calib,
                        "token counts from the model's tokenizer");
            }
        }
        long evalTokens = 0;
        long scored = 0;
        int windows = 0;
        String note;
        if (options.evalTexts() != null) {
            for (TextSources.Text t : options.evalTexts().texts()) {
                long tokens = 1 + Math.round(t.input().text().getBytes(StandardCharsets.UTF_8).length / BYTES_PER_TOKEN);
                int w = (int) Math.max(1, (tokens + options.ctx() - 1) / options.ctx());
                if (options.chunks() > 0 && w > options.chunks()) {
                    w = options.chunks();
                    tokens = Math.min(tokens, (long) w * options.ctx());
                }
                evalTokens += tokens;
                windows += w;
                scored += protocol == EvalProtocol.FALCONQ ? tokens - w : (long) w * (options.ctx() - 1 - options.ctx() / 2);
            }
            note = String.format(Locale.ROOT, "token counts estimated at %.1f bytes per token (no tokenizer)",
                    BYTES_PER_TOKEN);
        } else {
            windows = options.chunks() > 0 ? options.chunks() : ASSUMED_WINDOWS;
            evalTokens = (long) windows * options.ctx();
            scored = protocol == EvalProtocol.FALCONQ ? evalTokens - windows
                    : (long) windows * (options.ctx() - 1 - options.ctx() / 2);
            note = options.chunks() > 0 ? "no --eval-data: " + windows + " full windows assumed"
                    : "no --eval-data or --chunks: " + ASSUMED_WINDOWS + " windows of " + options.ctx() + " assumed";
        }
        long calibText = Math.round(options.calibText().text().getBytes(StandardCharsets.UTF_8).length / BYTES_PER_TOKEN);
        long calib = calibTokens(calibText, options);
        return new Tokens(evalTokens, scored, windows, calib * options.calibCtx(), (int) calib, note);
    }

    private static long calibTokens(long textTokens, Options options) {
        long chunks = textTokens / options.calibCtx();
        return options.calibChunks() > 0 ? Math.min(chunks, options.calibChunks()) : chunks;
    }

    /** Bytes of the original weights: the safetensors files, or 2 bytes per parameter (BF16) for a config. */
    static long originalWeightBytes(ModelInput model) {
        if (model.configOnly()) {
            return 2 * model.parameterCount();
        }
        try (HfCheckpoint checkpoint = HfCheckpoint.open(model.path())) {
            return checkpoint.shards().stream().mapToLong(SafetensorsFile::fileSize).sum();
        }
    }

    /** An imatrix of every linear input: sums (4 bytes per input channel) and names, about. */
    static long imatrixFileBytes(FalconH1Config c) {
        long perLayer = 4L * (4L * c.hiddenSize() + c.qSize() + c.ssmInnerSize() + 3L * c.hiddenSize()
                + c.intermediateSize()) + 9 * 80;
        return c.numLayers() * perLayer + 4096;
    }

    private static double convertCpuNanos(FalconH1Config c, VariantSpec.Gguf variant) {
        double nanos = 0;
        for (TensorRole role : TensorRole.values()) {
            if (!role.presentIn(c)) {
                continue;
            }
            long[] shape = role.convertedShape(c);
            long elements = 1;
            for (long d : shape) {
                elements *= d;
            }
            int layers = role.perLayer() ? c.numLayers() : 1;
            for (int i = 0; i < layers; i++) {
                int layer = role.perLayer() ? i : -1;
                RecipeContext context = new RecipeContext(role, layer, c.numLayers(), c.gqaGroupSize(),
                        variant.imatrix(), shape[shape.length - 1], true);
                FallbackChain.Resolution chosen = variant.recipe().chooseType(context, role.ggufName(layer));
                nanos += elements * CostModel.convertNsPerElement(chosen == null ? GgmlType.F32 : chosen.type());
            }
        }
        return nanos;
    }

    // ---- printing ---------------------------------------------------------------------------------------------

    public static void print(Plan plan, PrintWriter out) {
        long totalBytes = 0;
        double totalSeconds = 0;
        long peak = 0;
        for (ModelPlan m : plan.models()) {
            out.printf(Locale.ROOT, "%s (%s %s): %,d parameters; %s%n", m.model().name(),
                    m.model().configOnly() ? "config" : "checkpoint", m.model().path(), m.parameterCount(), m.tokenNote());
            out.printf(Locale.ROOT, "  %-46s %-52s %11s %9s %10s%n", "step", "writes", "size", "time", "memory");
            long modelBytes = 0;
            for (Step s : m.steps()) {
                String size = s.artifactBytes() < 0 ? "" : (s.exact() ? "" : "~") + bytes(s.artifactBytes());
                out.printf(Locale.ROOT, "  %-46s %-52s %11s %9s %10s%n", s.label(),
                        s.artifact() == null ? "—" : s.artifact().toString(), size, duration(s.seconds()),
                        bytes(s.memoryBytes()));
                if (s.artifact() != null && s.artifactBytes() > 0 && !s.artifact().startsWith(StepStore.STATE_DIR)) {
                    modelBytes += s.artifactBytes();
                }
            }
            out.printf(Locale.ROOT, "  total: %d artifacts, %s to publish; %s on %d thread%s; peak memory %s%n%n",
                    m.artifacts().size(), bytes(modelBytes), duration(m.seconds()), plan.threads(),
                    plan.threads() == 1 ? "" : "s", bytes(m.peakMemory()));
            totalBytes += modelBytes;
            totalSeconds += m.seconds();
            peak = Math.max(peak, m.peakMemory());
        }
        if (plan.models().size() > 1) {
            out.printf(Locale.ROOT, "all models: %s to publish; %s on %d thread%s; peak memory %s%n", bytes(totalBytes),
                    duration(totalSeconds), plan.threads(), plan.threads() == 1 ? "" : "s", bytes(peak));
        }
        out.println("Sizes without ~ are exact (the converter's plan laid out by the writer); ~ marks estimates. "
                + "Times and memory are predictions for this machine (" + Runtime.getRuntime().availableProcessors()
                + " cores, otherwise idle) from CostModel's measured CPU throughputs, good to about a factor of 2; "
                + "memory is peak resident size, mapped weights included.");
        out.flush();
    }

    static String bytes(long b) {
        if (b < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        }
        double mib = b / (1024.0 * 1024.0);
        return mib < 1024 ? String.format(Locale.ROOT, "%.1f MiB", mib) : String.format(Locale.ROOT, "%.2f GiB", mib / 1024);
    }

    static String duration(double seconds) {
        if (seconds < 60) {
            return String.format(Locale.ROOT, "%.0f s", Math.max(1, Math.ceil(seconds)));
        }
        long s = Math.round(seconds);
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm %02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh %02dm", s / 3600, (s % 3600) / 60);
    }
}
