package io.falconq.runtime;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits: greedy (temperature 0: the first maximum), or sampling from
 * {@code softmax(logits / temperature)} restricted to the smallest set of most likely tokens whose probability
 * reaches {@code topP} (nucleus sampling). Seeded, so a run is reproducible.
 */
public final class Sampler {
    private final float temperature;
    private final float topP;
    private final SplittableRandom random;

    public Sampler(float temperature, float topP, long seed) {
        if (temperature < 0 || !(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("temperature must be ≥ 0 and top-p in (0, 1]");
        }
        this.temperature = temperature;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    public static Sampler greedy() {
        return new Sampler(0f, 1f, 0);
    }

    /** The next token id among the first {@code n} logits. */
    public int sample(float[] logits, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        if (temperature == 0f) {
            return best;
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[i] - logits[best]) / temperature);
            sum += p[i];
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            p[i] /= sum;
        }
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        double mass = 0;
        int keep = 0;
        while (keep < n && mass < topP) {
            mass += p[order[keep++]];
        }
        double r = random.nextDouble() * mass;
        for (int k = 0; k < keep; k++) {
            r -= p[order[k]];
            if (r <= 0) {
                return order[k];
            }
        }
        return order[keep - 1];
    }
}
