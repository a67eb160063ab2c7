package io.falconq.runtime.eval;

import io.falconq.formats.testing.SharedGroundTruth;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.falconq.formats.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Protocol windows, llama.cpp's log-prob records, KL/top-1 statistics and the logits files. */
class EvalMetricsTest {

    private static Path shared(String relative) {
        return SharedGroundTruth.path(relative);
    }

    @Test
    void falconqWindowsMatchTheGoldenPerplexityCounts() throws IOException {
        // perplexity.json was computed by the PyTorch reference (export.py perplexity()): its window and scored
        // counts are an independent statement of the protocol
        JsonNode ppl = new ObjectMapper().readTree(shared("models/falcon-h1-tiny/golden/perplexity.json").toFile());
        int[] stream = new int[ppl.get("n_tokens").asInt()];
        List<EvalProtocol.Window> windows = EvalProtocol.FALCONQ.windows(stream, 512, 1, 0);
        assertEquals(ppl.get("n_windows").asInt(), windows.size());
        assertEquals(ppl.get("n_scored").asLong(), windows.stream().mapToLong(EvalProtocol.Window::scoredCount).sum());
        assertEquals(2, EvalProtocol.FALCONQ.windows(stream, 512, 1, 2).size(), "--chunks 2");
    }

    @Test
    void llamaCppChunksDropTheTailSubstituteBosAndScoreTheSecondHalf() {
        // llamacpp/README.md: all of valid.txt (40 285 tokens) is 78 chunks of 512; GGUF-NOTES §7.1: 255 scored each
        int[] stream = new int[40285];
        for (int i = 0; i < stream.length; i++) {
            stream[i] = 100 + i % 50;
        }
        List<EvalProtocol.Window> chunks = EvalProtocol.LLAMA_CPP.windows(stream, 512, 1, 0);
        assertEquals(78, chunks.size());
        for (EvalProtocol.Window w : chunks) {
            assertEquals(1, w.input()[0], "first token replaced by BOS");
            assertEquals(stream[w.start() + 1], w.input()[1]);
            assertEquals(256, w.firstScored());
            assertEquals(255, w.scoredCount());
        }
        assertEquals(20, EvalProtocol.LLAMA_CPP.windows(stream, 512, 1, 20).size());
    }

    @Test
    void recordDecodesToTheLogSoftmaxWithinHalfAStep() {
        Random r = new Random(7);
        int v = 1001; // odd: exercises the padding slot
        float[] logits = new float[v];
        for (int i = 0; i < v; i++) {
            logits[i] = (float) (r.nextGaussian() * 3);
        }
        ByteBuffer rec = LogProbRecord.allocate(v);
        double nll = LogProbRecord.encode(logits, 0, v, 17, rec);
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double lse = max + Math.log(sum);
        assertEquals(lse - logits[17], nll, 1e-5);
        float scale = LogProbRecord.scale(rec);
        for (int i = 0; i < v; i++) {
            double exact = logits[i] - lse;
            if (exact > LogProbRecord.minLogProb(rec)) {
                assertEquals(exact, LogProbRecord.logProb(rec, i), scale / 2 + 1e-5, "log p[" + i + "]");
            }
        }
        assertEquals(LogProbRecord.bytes(v), 2 * (2 * ((v + 1) / 2) + 4));
    }

    @Test
    void identicalModelsGiveNearZeroKldFullTop1AndZeroDeltaPpl() {
        Random r = new Random(8);
        int v = 512;
        int n = 300;
        KlDivergence kl = new KlDivergence();
        ByteBuffer rec = LogProbRecord.allocate(v);
        float[] logits = new float[v];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < v; i++) {
                logits[i] = (float) (r.nextGaussian() * 2);
            }
            int token = r.nextInt(v);
            LogProbRecord.encode(logits, 0, v, token, rec);
            kl.add(TokenComparison.compute(logits, 0, v, token, rec));
        }
        KlDivergence.KlSummary s = kl.summary();
        // GGUF-NOTES §7.2: the 16-bit base records make an identical model's KLD ≈ 1e-6, not 0
        assertTrue(s.meanKld().value() < 1e-5 && s.meanKld().value() > -1e-5, "mean KLD " + s.meanKld());
        assertEquals(1.0, s.sameTopP().value(), "same top p");
        assertEquals(0, s.deltaPpl().value(), 1e-3 * s.ppl().value());
    }

    @Test
    void klStatisticsFollowLlamaCppsFormulas() {
        KlDivergence kl = new KlDivergence();
        double[] klds = new double[20];
        for (int i = 0; i < 20; i++) {
            klds[i] = (i * 7 % 20) / 10.0;
            kl.add(new TokenComparison(1f + i / 10f, 1f, klds[i], i % 4 != 0, 0.01f * i));
        }
        KlDivergence.KlSummary s = kl.summary();
        double mean = 0;
        for (double k : klds) {
            mean += k;
        }
        mean /= 20;
        assertEquals(mean, s.meanKld().value(), 1e-6);
        // sorted values are 0.0, 0.1, …, 1.9: median = (0.9 + 1.0)/2; p99 at 0.99·19 = 18.81 → 1.8 + 0.81·0.1
        assertEquals(0.95f, s.medianKld(), 1e-6);
        assertEquals(1.881f, s.p99Kld(), 1e-5);
        assertEquals(1.9f, s.maxKld(), 1e-6);
        assertEquals(0.75, s.sameTopP().value(), 1e-12);
        assertEquals(Math.sqrt(0.75 * 0.25 / 19), s.sameTopP().error(), 1e-12);
    }

    @Test
    void perplexityStandardErrorIsLlamaCppsFinalEstimate() {
        Perplexity p = new Perplexity();
        double[] nll = {2.0, 3.0, 4.5, 1.5, 2.5};
        double sum = 0;
        double sum2 = 0;
        for (double v : nll) {
            p.add(v);
            sum += v;
            sum2 += v * v;
        }
        double mean = sum / nll.length;
        double expectedErr = Math.exp(mean) * Math.sqrt((sum2 / nll.length - mean * mean) / (nll.length - 1));
        assertEquals(Math.exp(mean), p.ppl(), 1e-12);
        assertEquals(expectedErr, p.pplStdErr(), 1e-12);
    }

    @Test
    void logitsFilesRoundTripInBothLayouts(@TempDir Path dir) {
        int vocab = 33;
        int ctx = 8;
        int[] stream = new int[27];
        for (int i = 0; i < stream.length; i++) {
            stream[i] = (i * 5) % vocab;
        }
        for (LogitsFile.Layout layout : LogitsFile.Layout.values()) {
            EvalProtocol protocol = layout == LogitsFile.Layout.LLAMA_CPP ? EvalProtocol.LLAMA_CPP : EvalProtocol.FALCONQ;
            int windows = protocol == EvalProtocol.LLAMA_CPP ? 3 : 4;
            int[] tokens = layout == LogitsFile.Layout.LLAMA_CPP ? java.util.Arrays.copyOf(stream, windows * ctx) : stream;
            LogitsFile.Header header = new LogitsFile.Header(layout, protocol, ctx, vocab, windows, 1, tokens);
            Path file = dir.resolve(layout + ".logits");
            long records = header.windowList().stream().mapToLong(EvalProtocol.Window::scoredCount).sum();
            ByteBuffer rec = LogProbRecord.allocate(vocab);
            try (LogitsFile.Writer w = LogitsFile.create(file, false, header)) {
                for (int i = 0; i < records; i++) {
                    rec.putFloat(0, i).putFloat(4, -i);
                    w.write(rec, 1);
                }
                w.commit();
            }
            try (LogitsFile.Reader r = LogitsFile.open(file)) {
                assertEquals(layout, r.header().layout());
                assertEquals(protocol, r.header().protocol());
                assertEquals(ctx, r.header().ctx());
                assertEquals(vocab, r.header().vocab());
                assertArrayEquals(tokens, r.header().tokens());
                ByteBuffer in = ByteBuffer.allocate(LogProbRecord.bytes(vocab)).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < records; i++) {
                    r.next(in, 1);
                    assertEquals(i, LogProbRecord.scale(in));
                }
            }
        }
    }

    @Test
    void truncatedLogitsFileIsRejectedWithItsSize(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("t.logits");
        LogitsFile.Header header = new LogitsFile.Header(LogitsFile.Layout.LLAMA_CPP, EvalProtocol.LLAMA_CPP, 8, 5, 1, -1,
                new int[8]);
        try (LogitsFile.Writer w = LogitsFile.create(file, false, header)) {
            ByteBuffer rec = LogProbRecord.allocate(5);
            w.write(rec, 1);
            w.write(rec, 1);
            w.write(rec, 1);
            w.commit();
        }
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 3));
        FormatException e = assertThrows(FormatException.class, () -> LogitsFile.open(file));
        assertTrue(e.getMessage().contains("expected " + bytes.length), e.getMessage());
    }
}
