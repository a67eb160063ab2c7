package io.falconq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.cli.options.CountLimits;
import io.falconq.cli.options.ChunkOptions;
import io.falconq.cli.options.ProtocolOption;
import io.falconq.cli.options.OutputPath;
import io.falconq.cli.progress.Progress;
import io.falconq.cli.pipeline.TextSources;
import io.falconq.formats.io.AtomicFolder;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.EvalResult;
import io.falconq.runtime.eval.KlDivergence;
import io.falconq.runtime.eval.LogitsFile;
import io.falconq.runtime.eval.PerplexityEvaluator;
import io.falconq.runtime.kernel.KernelMode;
import io.falconq.runtime.text.HfTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code falconq eval}: perplexity, and KL divergence / top-1 / Δppl against saved baseline logits. */
@Command(name = "eval",
        description = {
                "Perplexity of a model (HF folder or GGUF) on a text, with its standard error and throughput.",
                "Protocols: falconq (default; golden/perplexity.json's: ids = [BOS] + encode(text), non-overlapping "
                        + "windows of --ctx tokens, last shorter window kept, every token after the first scored) or "
                        + "llama.cpp (llama-perplexity's: whole chunks of --ctx, first token replaced by BOS, only the "
                        + "second half scored).",
                "--save-logits FILE stores every scored position's full-vocabulary log-probabilities (16-bit, "
                        + "llama.cpp's encoding; with --protocol llama.cpp the file is llama-perplexity's own "
                        + "--kl-divergence-base format). --baseline FILE re-evaluates the tokens stored in FILE "
                        + "(from falconq or llama-perplexity) and reports KL divergence (mean, median, p99, max), "
                        + "top-1 agreement and Δppl with llama.cpp's formulas."})
public final class EvalCommand extends ForwardPassCommand {
    /** Created on first use (see InspectCommand.Json: picocli instantiates every subcommand at start-up). */
    static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    }

    @Option(names = "--data", paramLabel = "TEXT",
            description = "Evaluation text: a UTF-8 file or builtin:NAME; repeat LANG=TEXT, or give builtin:multi "
                    + "(every bundled language's held-out text), for per-language results (then --save-logits and "
                    + "--baseline name a folder). Not needed with --baseline.")
    private List<String> data = new ArrayList<>();

    @Mixin
    private ChunkOptions chunking;

    @Mixin
    private ProtocolOption protocol;

    @OutputPath
    @Option(names = "--save-logits", paramLabel = "PATH", description = "Write the scored positions' log-probabilities "
            + "here (a file; a folder of one file per language for several texts).")
    private Path saveLogits;

    @Option(names = "--baseline", paramLabel = "PATH",
            description = "Compare with these saved log-probabilities (same tokens, protocol and ctx as stored in "
                    + "PATH); a folder from --save-logits with several texts gives per-language results.")
    private Path baseline;

    @Option(names = "--force", description = "Overwrite --save-logits if it exists.")
    private boolean force;

    @Option(names = "--json", description = "Print the result as JSON on stdout.")
    private boolean json;

    @Override
    public Integer call() {
        EvalProtocol proto = protocol.protocol();
        chunking.check(2, null);
        int ctx = chunking.ctx();
        int chunks = chunking.chunks();
        if (baseline == null && data.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "give --data TEXT (or --baseline FILE, whose tokens are used)");
        }
        TextSources texts = null;
        if (!data.isEmpty()) {
            try {
                texts = TextSources.parse(data, TextSources.Purpose.EVALUATION);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--data: " + e.getMessage());
            }
        }
        boolean baselineFolder = baseline != null && Files.isDirectory(baseline);
        if (baselineFolder || (baseline == null && texts.labelled())) {
            if (saveLogits != null) {
                AtomicFolder.checkWritable(saveLogits, force);
            }
            return new PerLanguageEval(spec, verbosity, threads.threads(), activations.mode(), json).run(model,
                    tokenizer.dir(), proto, ctx, chunks, baselineFolder ? null : texts, baseline, saveLogits, force);
        }
        if (texts != null && texts.labelled()) {
            throw new ParameterException(spec.commandLine(), "several --data texts are compared with a folder of "
                    + "their log-probabilities (--save-logits DIR of the original), not with the file " + baseline);
        }
        if (saveLogits != null) {
            AtomicOutput.checkWritable(saveLogits, force);
        }
        PrintWriter err = spec.commandLine().getErr();
        LogitsFile.Reader base = null;
        try (FalconH1Model m = FalconH1Model.load(model)) {
            m.config().warnings().forEach(w -> err.println("warning: " + w));
            // a window's logits and their log-softmax, float32 each
            CountLimits.fitsInMemory(spec, "--ctx", ctx, 8L * m.config().vocabSize());
            int[] tokens;
            int bos;
            int windowLimit = chunks;
            if (baseline != null) {
                base = LogitsFile.open(baseline);
                LogitsFile.Header h = base.header();
                if (texts != null || proto != h.protocol() || ctx != h.ctx()) {
                    err.printf("eval: tokens, protocol (%s) and ctx (%d) come from the baseline %s%n",
                            h.protocol().label(), h.ctx(), baseline);
                }
                proto = h.protocol();
                ctx = h.ctx();
                tokens = h.tokens();
                bos = h.layout() == LogitsFile.Layout.FALCONQ ? h.bosId() : bosOf(m);
                windowLimit = chunks > 0 ? Math.min(chunks, h.windows()) : h.windows();
                if (chunks > 0) {
                    err.printf("eval: --chunks %d: comparing the first %d of the baseline's %d windows%n", chunks,
                            windowLimit, h.windows());
                }
            } else {
                String text = texts.single().text();
                try (HfTokenizer tok = tokenizer.load(m)) {
                    tokens = tok.encodeForModel(text);
                    bos = tok.addedBosId();
                }
            }
            List<EvalProtocol.Window> windows = proto.windows(tokens, ctx, bos, windowLimit);
            if (windows.isEmpty()) {
                throw new InvalidInputException("--data " + texts.label() + ": " + tokens.length + " tokens make no "
                        + proto.label() + " window of " + ctx);
            }
            err.printf("eval: %s, %d tokens, %d %s windows of %d, %d threads, kernels %s, activations %s%n", model,
                    tokens.length, windows.size(), proto.label(), ctx, threads.threads(), KernelMode.describe(),
                    activations.mode().label());
            err.flush();
            LogitsFile.Writer save = null;
            EvalResult result;
            try (FalconH1Forward forward = new FalconH1Forward(m, threads.threads(), activations.mode());
                 Progress progress = Progress.create(spec, verbosity, "eval")) {
                if (saveLogits != null) {
                    int[] stored = proto == EvalProtocol.LLAMA_CPP
                            ? java.util.Arrays.copyOf(tokens, windows.size() * ctx) : tokens;
                    LogitsFile.Layout layout = proto == EvalProtocol.LLAMA_CPP ? LogitsFile.Layout.LLAMA_CPP
                            : LogitsFile.Layout.FALCONQ;
                    save = LogitsFile.create(saveLogits, force, new LogitsFile.Header(layout, proto, ctx,
                            m.config().vocabSize(), windows.size(), bos, stored));
                }
                result = PerplexityEvaluator.evaluate(forward, proto, ctx, windows, tokens, save, base,
                        (done, total, ppl, tps) -> progress.onStep(done, total,
                                String.format(Locale.ROOT, "ppl %.4f  %.0f tokens/s", ppl, tps)));
                if (save != null) {
                    save.commit();
                }
            } finally {
                if (save != null) {
                    save.close();
                }
            }
            print(result);
            if (saveLogits != null) {
                err.printf("eval: log-probabilities of %d positions -> %s%n", result.scoredTokens(), saveLogits);
            }
        } finally {
            if (base != null) {
                base.close();
            }
        }
        return ExitCodes.OK;
    }

    private static int bosOf(FalconH1Model m) {
        Integer id = m.config().bosTokenId();
        return id == null ? -1 : id;
    }

    private void print(EvalResult r) {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = toJson(r, model, baseline, activations.mode().label());
            out.println(o.toPrettyString());
        } else {
            printText(out, r);
        }
        out.flush();
    }

    /** {@code --json}'s fields of one result. */
    static ObjectNode toJson(EvalResult r, Path model, Path baseline, String activations) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("model", model.toString());
        o.put("protocol", r.protocol().label());
        o.put("ctx", r.ctx());
        o.put("windows", r.windows());
        o.put("tokens_evaluated", r.tokensEvaluated());
        o.put("scored_tokens", r.scoredTokens());
        o.put("mean_nll", r.meanNll());
        o.put("ppl", r.ppl());
        o.put("ppl_stderr", r.pplStdErr());
        o.put("seconds", r.seconds());
        o.put("tokens_per_second", r.tokensPerSecond());
        o.put("threads", r.threads());
        o.put("activations", activations);
        if (r.kl() != null) {
            KlDivergence.KlSummary k = r.kl();
            ObjectNode kl = o.putObject("kl");
            kl.put("baseline", baseline.toString());
            kl.put("tokens", k.tokens());
            kl.put("ppl_baseline", k.pplBase().value());
            kl.put("delta_ppl", k.deltaPpl().value());
            kl.put("delta_ppl_stderr", k.deltaPpl().error());
            kl.put("ln_ppl_ratio", k.lnPplRatio().value());
            kl.put("ln_ppl_ratio_stderr", k.lnPplRatio().error());
            kl.put("mean_kld", k.meanKld().value());
            kl.put("mean_kld_stderr", k.meanKld().error());
            kl.put("median_kld", k.medianKld());
            kl.put("p99_kld", k.p99Kld());
            kl.put("max_kld", k.maxKld());
            kl.put("same_top1", k.sameTopP().value());
            kl.put("same_top1_stderr", k.sameTopP().error());
            kl.put("rms_delta_p", k.rmsDeltaP().value());
        }
        return o;
    }

    static void printText(PrintWriter out, EvalResult r) {
        out.printf(Locale.ROOT, "protocol       %s, ctx %d, %d windows, %d scored tokens%n", r.protocol().label(),
                r.ctx(), r.windows(), r.scoredTokens());
        out.printf(Locale.ROOT, "mean NLL       %.6f%n", r.meanNll());
        out.printf(Locale.ROOT, "perplexity     %.4f ± %.5f%n", r.ppl(), r.pplStdErr());
        out.printf(Locale.ROOT, "speed          %.0f tokens/s (%d tokens in %.2f s, %d threads)%n",
                r.tokensPerSecond(), r.tokensEvaluated(), r.seconds(), r.threads());
        if (r.kl() != null) {
            KlDivergence.KlSummary k = r.kl();
            out.printf(Locale.ROOT, "baseline ppl   %.4f ± %.5f%n", k.pplBase().value(), k.pplBase().error());
            out.printf(Locale.ROOT, "Δppl           %.6f ± %.6f%n", k.deltaPpl().value(), k.deltaPpl().error());
            out.printf(Locale.ROOT, "KLD            mean %.6f ± %.6f, median %.6f, p99 %.6f, max %.6f%n",
                    k.meanKld().value(), k.meanKld().error(), k.medianKld(), k.p99Kld(), k.maxKld());
            out.printf(Locale.ROOT, "same top-1     %.3f ± %.3f %%%n", 100 * k.sameTopP().value(),
                    100 * k.sameTopP().error());
            out.printf(Locale.ROOT, "RMS Δp         %.3f ± %.3f %%%n", 100 * k.rmsDeltaP().value(),
                    100 * k.rmsDeltaP().error());
        }
    }
}
