package io.falconq.runtime.eval;

import io.falconq.core.quant.GgmlRounding;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One position's full-vocabulary log-probabilities, quantized to 16 bits exactly as llama-perplexity stores them in
 * a {@code --kl-divergence-base} file (GGUF-NOTES.md §7.2; {@code log_softmax(n_vocab, logits, uint16_t*, tok)} in
 * {@code tools/perplexity/perplexity.cpp}):
 * <pre>
 *   float32 scale, float32 min_log_prob, uint16 code[n_vocab], one uint16 of padding if n_vocab is odd
 *   M = max ℓ;  m = max(min ℓ, M − 16);  LSE = log Σ exp(ℓ − M)
 *   min_log_prob = m − M − LSE;  scale = (M − m) / 65535
 *   code_i = nearest_int((ℓ_i − m) / scale) if ℓ_i > m else 0            (all 0 when scale = 0)
 *   log p_i ≈ scale · code_i + min_log_prob
 * </pre>
 * All little-endian. A record is {@link #bytes(int)} bytes.
 */
public final class LogProbRecord {
    private LogProbRecord() {
    }

    /** uint16 slots per record: {@code 2·⌈n_vocab/2⌉ + 4}. */
    public static int shorts(int nVocab) {
        return 2 * ((nVocab + 1) / 2) + 4;
    }

    public static int bytes(int nVocab) {
        return 2 * shorts(nVocab);
    }

    /** A little-endian buffer sized for one record. */
    public static ByteBuffer allocate(int nVocab) {
        return ByteBuffer.allocate(bytes(nVocab)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Encodes logits row {@code [off, off+n)} into {@code rec} (position 0 onwards) and returns llama.cpp's NLL of
     * {@code token} as computed alongside ({@code M + LSE − ℓ_tok}, LSE rounded to float).
     */
    public static double encode(float[] logits, int off, int n, int token, ByteBuffer rec) {
        float max = logits[off];
        float min = logits[off];
        for (int i = 1; i < n; i++) {
            max = Math.max(max, logits[off + i]);
            min = Math.min(min, logits[off + i]);
        }
        min = Math.max(min, max - 16);
        double sumExp = LogSoftmax.sumExp(logits, off, n, max);
        float logSumExp = (float) Math.log(sumExp);
        float minLogProb = min - max - logSumExp;
        float scale = (max - min) / 65535f;
        rec.putFloat(0, scale);
        rec.putFloat(4, minLogProb);
        if (scale != 0f) {
            float invScale = 1 / scale;
            for (int i = 0; i < n; i++) {
                float l = logits[off + i];
                rec.putShort(8 + 2 * i, (short) (l > min ? GgmlRounding.nearestInt(invScale * (l - min)) : 0));
            }
        } else {
            for (int i = 0; i < n; i++) {
                rec.putShort(8 + 2 * i, (short) 0);
            }
        }
        if ((n & 1) == 1) {
            rec.putShort(8 + 2 * n, (short) 0);
        }
        return max + logSumExp - logits[off + token];
    }

    public static float scale(ByteBuffer rec) {
        return rec.getFloat(0);
    }

    public static float minLogProb(ByteBuffer rec) {
        return rec.getFloat(4);
    }

    /** Decoded log-probability of vocabulary entry {@code i}. */
    public static float logProb(ByteBuffer rec, int i) {
        return rec.getFloat(0) * (rec.getShort(8 + 2 * i) & 0xFFFF) + rec.getFloat(4);
    }
}
