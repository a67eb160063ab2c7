package io.falconq.runtime;

/**
 * Rotary position embedding, NEOX / rotate_half layout: dimension i pairs with i + hd/2, and the pair rotates by
 * angle {@code pos · inv_freq[i]}, {@code inv_freq[i] = 1 / theta^(2i/hd)}.
 *
 * <p>Rounding follows transformers' default RoPE as the reference computes it ({@code rope_cos_sin} in
 * {@code ../shared/reference/falcon_h1.py}): theta is a float32, the exponent {@code 2i/hd} a float32, the angle is
 * a float32 product, and cos/sin are rounded to float32. (llama.cpp instead builds the angle by repeated float
 * multiplication, GGUF-NOTES.md §4.1; the two differ by float rounding only.)
 */
final class Rope {
    private final int headDim;
    private final int half;
    private final float[] invFreq;
    /** (positions, hd/2) */
    private float[] cos = new float[0];
    private float[] sin = new float[0];
    private int positions;

    Rope(int headDim, double theta) {
        this.headDim = headDim;
        this.half = headDim / 2;
        this.invFreq = new float[half];
        float base = (float) theta;
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;
            invFreq[i] = 1f / (float) Math.pow(base, exponent);
        }
    }

    private synchronized void ensure(int n) {
        if (n <= positions) {
            return;
        }
        int cap = Math.max(n, Math.max(64, positions * 2));
        float[] c = new float[cap * half];
        float[] s = new float[cap * half];
        for (int p = 0; p < cap; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * invFreq[i];
                c[p * half + i] = (float) Math.cos(angle);
                s[p * half + i] = (float) Math.sin(angle);
            }
        }
        cos = c;
        sin = s;
        positions = cap;
    }

    /** Makes positions [0, n) available to {@link #apply}; call before a parallel section. */
    void prepare(int n) {
        ensure(n);
    }

    /** Rotates {@code heads} consecutive heads of {@code x} starting at {@code off}, all at position {@code pos}. */
    void apply(float[] x, int off, int heads, int pos) {
        float[] c = cos;
        float[] s = sin;
        int t = pos * half;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float x0 = x[base + i];
                float x1 = x[base + half + i];
                float ci = c[t + i];
                float si = s[t + i];
                x[base + i] = x0 * ci + (-x1) * si;
                x[base + half + i] = x1 * ci + x0 * si;
            }
        }
    }
}
