package io.falconq.cli.pipeline;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.calibration.CalibrationMix;
import io.falconq.cli.report.CalibrationReport;
import io.falconq.formats.io.Sha256;
import io.falconq.formats.gguf.GgufValue;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.jobs.imatrix.CalibrationRunner;
import io.falconq.runtime.text.HfTokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The calibration sequences of {@code --calib-data}: the one rule by which {@code calibrate}, {@code quantize} and
 * {@code pipeline} turn texts into sequences of {@code ctx} tokens, and the record of what they used.
 *
 * <p>One text: {@code [BOS] + encode(text)} cut into its first {@code chunks} whole chunks, BOS first in each
 * ({@link CalibrationRunner#sequences}, llama-imatrix's rule). Several texts (a mix): the sequences are shared out by
 * weight (largest remainder, ties to the earlier text); each text's share is cut the same way from its own sample,
 * {@link CalibrationMix#sample} of that text alone (lines chosen in an order shuffled by the seed, kept in source
 * order), whose code-point budget doubles from {@code 2 · share · ctx} until it gives the share or the whole text is
 * taken (then the text gives what it has and is marked exhausted; nothing is redistributed). Sequences are then
 * interleaved in text order. With {@code chunks ≤ 0} (all), a mix takes the largest count every text can give its
 * share of: {@code min_i(wholeChunks_i · Σw / w_i)}.
 *
 * @param sequences the sequences in run order, each of {@code ctx} ids
 */
public record CalibrationTokens(int[][] sequences, int bos, CalibrationReport report) {
    /** Prefix of the imatrix keys of {@link #imatrixMetadata}. */
    public static final String IMATRIX_KEY_PREFIX = "falconq.calibration.";

    public static CalibrationTokens of(TextSources data, long seed, HfTokenizer tokenizer, int ctx, int chunks) {
        int bos = tokenizer.addedBosId();
        if (data.texts().size() == 1) {
            TextSources.Text t = data.texts().getFirst();
            int[][] seqs = CalibrationRunner.sequences(tokenizer.encodeForModel(t.input().text()), bos, ctx, chunks);
            String sha = Sha256.ofInts(List.of(seqs));
            return new CalibrationTokens(seqs, bos, new CalibrationReport(data.label(), seed, false, ctx, seqs.length,
                    (long) seqs.length * ctx, sha, List.of(new CalibrationReport.LanguageTokens(t.language(),
                    t.weight(), seqs.length, (long) seqs.length * ctx, sha, t.input().sha256(), false))));
        }
        List<TextSources.Text> texts = data.texts();
        double weights = texts.stream().mapToDouble(TextSources.Text::weight).sum();
        int total = chunks > 0 ? chunks : allChunks(texts, weights, tokenizer, ctx);
        int[] shares = shares(texts, weights, total);
        List<int[][]> perText = new ArrayList<>();
        List<CalibrationReport.LanguageTokens> languages = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            TextSources.Text t = texts.get(i);
            CalibrationMix.Source source = new CalibrationMix.Source(t.language(), 1, t.input().text());
            long budget = Math.max(1, 2L * shares[i] * ctx);
            String text;
            int[] ids;
            boolean exhausted;
            while (true) {
                CalibrationMix.Sample sample = CalibrationMix.sample(List.of(source), budget, seed);
                text = sample.text();
                ids = tokenizer.encodeForModel(text);
                exhausted = sample.shares().getFirst().exhausted();
                if (shares[i] == 0 || CalibrationRunner.chunkCount(ids.length, ctx, shares[i]) >= shares[i] || exhausted) {
                    break;
                }
                budget *= 2;
            }
            int n = CalibrationRunner.chunkCount(ids.length, ctx, shares[i]);
            int[][] seqs = n == 0 ? new int[0][] : CalibrationRunner.sequences(ids, bos, ctx, n);
            perText.add(seqs);
            languages.add(new CalibrationReport.LanguageTokens(t.language(), t.weight(), n, (long) n * ctx,
                    Sha256.ofInts(List.of(seqs)), Sha256.of(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                    n < shares[i]));
        }
        List<int[]> all = new ArrayList<>();
        for (int round = 0; ; round++) {
            boolean any = false;
            for (int[][] seqs : perText) {
                if (round < seqs.length) {
                    all.add(seqs[round]);
                    any = true;
                }
            }
            if (!any) {
                break;
            }
        }
        if (all.isEmpty()) {
            throw new InvalidInputException(data.label() + ": the texts give no whole chunk of " + ctx + " tokens");
        }
        int[][] seqs = all.toArray(int[][]::new);
        return new CalibrationTokens(seqs, bos, new CalibrationReport(data.label(), seed, true, ctx, seqs.length,
                (long) seqs.length * ctx, Sha256.ofInts(all), languages));
    }

    /** {@link #report} as JSON, for a GPTQ folder's {@code quantization_config.meta.calibration}. */
    public ObjectNode metadata() {
        return StepStore.MAPPER.valueToTree(report);
    }

    /** The sequences end to end: the id stream {@link CalibrationRunner#run} cuts back into the same sequences. */
    public int[] stream() {
        int ctx = report.contextLength();
        int[] out = new int[sequences.length * ctx];
        for (int i = 0; i < sequences.length; i++) {
            System.arraycopy(sequences[i], 0, out, i * ctx, ctx);
        }
        return out;
    }

    /**
     * The record as imatrix GGUF keys after llama-imatrix's own: {@code falconq.calibration.seed} (u64),
     * {@code .sampled} (bool), {@code .tokens_sha256}, {@code .languages}, {@code .language_tokens} (u32 each) and
     * {@code .language_tokens_sha256}, the arrays in text order.
     */
    public Map<String, GgufValue> imatrixMetadata() {
        Map<String, GgufValue> keys = new LinkedHashMap<>();
        List<CalibrationReport.LanguageTokens> langs = report.languages();
        keys.put(IMATRIX_KEY_PREFIX + "seed", GgufValue.u64(report.seed()));
        keys.put(IMATRIX_KEY_PREFIX + "sampled", GgufValue.bool(report.sampled()));
        keys.put(IMATRIX_KEY_PREFIX + "tokens_sha256", GgufValue.string(report.tokensSha256()));
        keys.put(IMATRIX_KEY_PREFIX + "languages",
                GgufValue.stringArray(langs.stream().map(CalibrationReport.LanguageTokens::language).toList()));
        keys.put(IMATRIX_KEY_PREFIX + "language_tokens",
                GgufValue.u32Array(langs.stream().mapToInt(l -> Math.toIntExact(l.tokens())).toArray()));
        keys.put(IMATRIX_KEY_PREFIX + "language_tokens_sha256",
                GgufValue.stringArray(langs.stream().map(CalibrationReport.LanguageTokens::tokensSha256).toList()));
        return keys;
    }

    /** Largest remainder of {@code total · w_i / Σw}; ties go to the earlier text. */
    static int[] shares(List<TextSources.Text> texts, double weights, int total) {
        int[] shares = new int[texts.size()];
        double[] remainders = new double[texts.size()];
        int given = 0;
        for (int i = 0; i < shares.length; i++) {
            double exact = total * texts.get(i).weight() / weights;
            shares[i] = (int) Math.floor(exact);
            remainders[i] = exact - shares[i];
            given += shares[i];
        }
        Integer[] order = new Integer[shares.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> remainders[a] != remainders[b] ? Double.compare(remainders[b], remainders[a])
                : Integer.compare(a, b));
        for (int k = 0; given < total; k++, given++) {
            shares[order[k]]++;
        }
        return shares;
    }

    private static int allChunks(List<TextSources.Text> texts, double weights, HfTokenizer tokenizer,
                                 int ctx) {
        long best = Long.MAX_VALUE;
        for (TextSources.Text t : texts) {
            int whole = CalibrationRunner.chunkCount(tokenizer.encodeForModel(t.input().text()).length, ctx, -1);
            best = Math.min(best, (long) Math.floor(whole * weights / t.weight()));
        }
        if (best < 1) {
            throw new InvalidInputException("a calibration text gives no whole chunk of " + ctx
                    + " tokens: give --chunks N, a smaller context, or longer texts");
        }
        return (int) Math.min(best, Integer.MAX_VALUE);
    }
}
