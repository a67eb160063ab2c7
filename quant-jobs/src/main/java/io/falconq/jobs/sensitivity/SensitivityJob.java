package io.falconq.jobs.sensitivity;

import io.falconq.core.convert.ConversionPlan;
import io.falconq.core.convert.ConversionOptions;
import io.falconq.core.convert.ConversionPlanner;
import io.falconq.core.convert.GgufConversion;
import io.falconq.core.convert.alloc.SensitivityTable;
import io.falconq.core.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.imatrix.ImatrixFile;
import io.falconq.formats.io.AtomicFolder;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.ProgressListener;
import io.falconq.formats.io.Sha256;
import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.eval.EvalProtocol;
import io.falconq.runtime.eval.LogitsFile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code falconq measure}: for every quantizable tensor and candidate type, the increase in mean KL divergence of the
 * next-token distribution against the unquantized model when that tensor alone is quantized (direct measurement:
 * {@link CandidateTypes} encodes it as the converter would, {@link DownstreamKld} re-runs what lies downstream).
 *
 * <p>The reference is the model as llama.cpp's converter writes it in F32 (µP multipliers folded): a GGUF input
 * (F32/F16/BF16) is used as it is; a Hugging Face folder is converted to F32 in the work folder first. Windows are
 * llama-perplexity's ({@link EvalProtocol#LLAMA_CPP}: chunks of ctx tokens, BOS first, positions ctx/2 … ctx−2
 * scored), the protocol the allocation is judged by. ΔKLD is the swapped model's mean KLD minus the reference's own
 * against its 16-bit records (that floor is ~1e-7 nats).
 *
 * <p>Resumable: the work folder ({@code <output>.work.partial-<pid>}, adopted by a rerun with the same job key)
 * holds the reference cache and a synced line per finished tensor; a killed run continues at the first tensor not
 * recorded and writes the same bytes.
 */
public final class SensitivityJob {
    /** Bumped when the numbers a run produces would change for the same inputs. */
    private static final String JOB_VERSION = "measure-direct-1";

    /**
     * @param types        requested candidate types (each measured as the concrete type the tensor can take)
     * @param imatrix      importance matrix for the types that use one, or null
     * @param imatrixLabel the imatrix as the user named it (recorded), or null
     * @param ctx          chunk length
     * @param chunks       at most this many chunks (≤ 0: all)
     * @param threads      worker threads; the numbers do not depend on them
     * @param method       direct or probe
     */
    public record Options(List<GgmlType> types, ImatrixFile imatrix, String imatrixLabel, int ctx, int chunks,
                          int threads, Method method) {
    }

    /** How the values are obtained. */
    public enum Method {
        /** Every (tensor, concrete type) pair swapped in and measured end to end. */
        DIRECT,
        /**
         * Per tensor two candidates end to end (the largest imatrix-weighted weight error and one a third down the
         * order), the others on the power law through them ({@link TensorMeasurement}).
         */
        PROBE,
        /**
         * Per layer, every (tensor, type) runs that layer alone for its output-error energy; two pairs run end to
         * end and the rest follow the layer's power law from energy to ΔKLD. token_embd and output as in PROBE.
         */
        LAYER_GAIN;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }

        /** The method whose {@link #label()} is {@code label}, if any. */
        public static java.util.Optional<Method> ofLabel(String label) {
            return java.util.Arrays.stream(values()).filter(m -> m.label().equals(label)).findFirst();
        }

        /** Every label, as a usage message lists them: {@code direct, probe or layer-gain}. */
        public static String labels() {
            List<String> labels = java.util.Arrays.stream(values()).map(Method::label).toList();
            return String.join(", ", labels.subList(0, labels.size() - 1)) + " or " + labels.getLast();
        }
    }

    /** Calibration chunks measured on by default: each one is run again for every tensor and candidate type. */
    public static final int DEFAULT_CHUNKS = 16;

    /** What a run did. */
    public record Report(SensitivityTable table, int tensorsResumed, long scoredTokens, double seconds) {
    }

    private SensitivityJob() {
    }

    /** The default candidate types. */
    public static List<GgmlType> defaultTypes() {
        return CandidateTypes.DEFAULT;
    }

    /** Whether {@code type} can be a candidate: the base type of one of llama-quantize's file types. */
    public static boolean isCandidate(GgmlType type) {
        return QuantRecipe.all().stream().anyMatch(r -> r.base() == type);
    }

    /** The windows a run measures on: llama-perplexity's chunks of the token stream. */
    public static List<EvalProtocol.Window> windows(int[] stream, int bosId, int ctx, int chunks) {
        return EvalProtocol.LLAMA_CPP.windows(stream, ctx, bosId, chunks);
    }

    /**
     * Measures {@code model} on the token stream {@code stream} ({@code [BOS] + encode(text)}) and writes the table
     * to {@code out} atomically.
     */
    public static Report run(Path model, String dataLabel, int[] stream, int bosId, Options opt, Path out,
                             boolean force, ProgressListener progress) {
        long t0 = System.nanoTime();
        List<EvalProtocol.Window> windows = windows(stream, bosId, opt.ctx(), opt.chunks());
        if (windows.isEmpty()) {
            throw new InvalidInputException(dataLabel + ": " + stream.length + " tokens, fewer than one chunk of "
                    + opt.ctx());
        }
        int[] used = java.util.Arrays.copyOf(stream, windows.size() * opt.ctx());
        Path target = out.toAbsolutePath();
        io.falconq.formats.io.AtomicOutput.checkWritable(target, force);
        Path workTarget = target.resolveSibling(target.getFileName() + ".work");
        try (AtomicFolder work = AtomicFolder.resume(workTarget, true, jobKey(model, opt, used, bosId))) {
            Path gguf = referenceGguf(model, work.folder(), opt.threads(), progress);
            SensitivityTable table;
            int resumed;
            long scored = windows.stream().mapToLong(EvalProtocol.Window::scoredCount).sum();
            try (GgufFile in = GgufReader.open(gguf);
                 FalconH1Model loaded = FalconH1Model.load(gguf);
                 FalconH1Forward forward = new FalconH1Forward(loaded, opt.threads());
                 DownstreamKld kld = new DownstreamKld(forward, windows, used, work.folder());
                 MeasuredResults results = MeasuredResults.open(work.folder().resolve("measured.tsv"))) {
                CandidateTypes candidates = CandidateTypes.plan(in, opt.types(), opt.imatrix(), opt.imatrixLabel());
                kld.buildReference(new LogitsFile.Header(LogitsFile.Layout.FALCONQ, EvalProtocol.LLAMA_CPP, opt.ctx(),
                        loaded.config().vocabSize(), windows.size(), bosId, used), progress);
                resumed = results.size();
                double floor = kld.referenceKld();
                TensorMeasurement measure = new TensorMeasurement(candidates, kld, floor, forward.pool());
                List<SensitivityTable.Entry> entries = new ArrayList<>();
                int i = 0;
                for (List<CandidateTypes.Tensor> group : candidates.byLayer()) {
                    List<CandidateTypes.Tensor> todo = group.stream().filter(t -> results.get(t.name()) == null)
                            .toList();
                    if (!todo.isEmpty()) {
                        // layer-gain predicts a layer's tensors together; the others measure each tensor alone
                        Map<String, MeasuredResults.Tensor> values = measure.group(opt.method(),
                                opt.method() == Method.LAYER_GAIN ? group : todo);
                        group.stream().filter(t -> results.get(t.name()) == null)
                                .forEach(t -> results.add(t.name(), values.get(t.name())));
                    }
                    for (CandidateTypes.Tensor t : group) {
                        MeasuredResults.Tensor values = results.get(t.name());
                        entries.add(new SensitivityTable.Entry(t.name(), t.role(), t.layer(), t.elements(),
                                values.values(), values.kinds()));
                        progress.onStep(++i, candidates.tensors().size(), t.name());
                    }
                }
                String reference = in.tensorInfos().stream().filter(x -> x.name().equals("token_embd.weight"))
                        .map(x -> x.type().name()).findFirst().orElse("F32");
                table = new SensitivityTable(new SensitivityTable.Source(model.toString(), dataLabel, scored,
                        Sha256.ofInts(List.of(used)), opt.imatrixLabel(), reference, opt.method().label()), entries);
            }
            table.write(target, force);
            AtomicFolder.deleteRecursively(work.folder());
            return new Report(table, resumed, scored, (System.nanoTime() - t0) / 1e9);
        }
    }

    /** The F32/F16/BF16 GGUF to measure against: {@code model} itself, or its F32 conversion in the work folder. */
    private static Path referenceGguf(Path model, Path work, int threads, ProgressListener progress) {
        if (!Files.isDirectory(model)) {
            return model;
        }
        Path f32 = work.resolve("reference-F32.gguf");
        if (!Files.isRegularFile(f32)) {
            try (HfCheckpoint ckpt = HfCheckpoint.open(model)) {
                ConversionPlan plan = ConversionPlanner.planFromHf(ckpt, ConversionOptions.of(QuantRecipe.F32));
                GgufConversion.run(plan, ckpt, f32, true, threads, progress);
            }
        }
        return f32;
    }

    /** The source files (names and sizes), the options and the measured tokens. */
    static String jobKey(Path model, Options opt, int[] tokens, int bosId) {
        MessageDigest d = Sha256.newDigest();
        update(d, JOB_VERSION + "\n" + model.toAbsolutePath() + "\n");
        try (Stream<Path> files = Files.isDirectory(model) ? Files.list(model).sorted() : Stream.of(model)) {
            for (Path f : files.toList()) {
                if (Files.isRegularFile(f)) {
                    update(d, f.getFileName() + ":" + Files.size(f) + ":" + Files.getLastModifiedTime(f) + "\n");
                }
            }
            if (opt.imatrix() != null) {
                d.update(Files.readAllBytes(opt.imatrix().path()));
            }
        } catch (IOException e) {
            throw InvalidInputException.unreadable(model, e);
        }
        update(d, opt.method() + " " + opt.types() + " " + opt.ctx() + " " + opt.chunks() + " " + bosId + " " + Sha256.ofInts(List.of(tokens)));
        return "measure " + HexFormat.of().formatHex(d.digest());
    }

    private static void update(MessageDigest d, String s) {
        d.update(s.getBytes(StandardCharsets.UTF_8));
    }
}
