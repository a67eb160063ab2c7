package io.falconq.jobs.intquant;

import io.falconq.core.calib.LinearRole;
import io.falconq.core.intquant.IntQuantScheme;
import io.falconq.core.intquant.RtnQuantizer;
import io.falconq.runtime.LayerPart;
import io.falconq.runtime.LayerWeights;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * The held-out study behind {@link AwqLoss}'s figures (a program, not a test: minutes on the tiny model): the tiny
 * model quantized int4 g128 on calib.txt (67 windows of 512, the CLI's builtin:en) by each named method, and its
 * perplexity increase over the float model and the mean KL divergence of its next-token distribution from the float
 * model's (less noisy than a Δppl) on two disjoint sets of 120 train.txt windows of 512 (0-based windows 8, 24, …
 * and 14, 30, …), never valid.txt. Methods: {@code rtn}, {@code clip} (AWQ's Hessian clip search alone),
 * {@code clip-only:ROLE} (the clip search on one {@link LinearRole} of every layer, the rest round to nearest), every
 * {@code --awq-loss} name for AWQ, and {@code downstream-kld} / {@code downstream-nll} (AWQ scored at the model's
 * output, {@link #downstream}). Run by {@code tests/bench/awq-held-out.sh}.
 */
public final class AwqHeldOut {
    private AwqHeldOut() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        try (AwqTinyModel tiny = new AwqTinyModel()) {
            // -Dawq.asym=true: the --asym scheme (a zero point per group), RTN's row then asymmetric too
            IntQuantScheme w4 = Boolean.getBoolean("awq.asym") ? new IntQuantScheme(4, 128, false, false)
                    : IntQuantScheme.w4(128);
            int[][] calib = tiny.windows("corpus/calib.txt", 67, 512);
            int[][] train = tiny.windows("corpus/train.txt", Integer.MAX_VALUE, 512);
            Held[] held = {new Held(tiny, every(train, 8, 16, 120)), new Held(tiny, every(train, 14, 16, 120))};
            double[] rtn = null;
            for (int i = 1; i < args.length; i++) {
                String method = args[i];
                long t0 = System.nanoTime();
                List<LayerWeights> layers = tiny.quantizeAll(calib, w4, dir.resolve(method + "-" + i),
                        method.startsWith("downstream-") ? downstream(tiny, calib, method) : method(method));
                double seconds = (System.nanoTime() - t0) / 1e9;
                double[][] r = {held[0].evaluate(layers), held[1].evaluate(layers)};
                double[] d = {r[0][0], r[1][0]};
                if (method.equals("rtn")) {
                    rtn = d;
                }
                System.out.printf("%s: Δppl %+.4f / %+.4f%s, KLD %.6f / %.6f (float ppl %.4f / %.4f; "
                                + "quantize %.1f s)%n", method, d[0], d[1],
                        rtn == null ? "" : String.format(" = %.3fx / %.3fx RTN", d[0] / rtn[0], d[1] / rtn[1]),
                        r[0][1], r[1][1], r[0][2], r[1][2], seconds);
            }
        }
    }

    /** A held-out set and the float model's final residual over it (the float logits without its decoder run). */
    private static final class Held {
        private final AwqTinyModel tiny;
        private final int[][] windows;
        private final float[][] floatResidual;

        Held(AwqTinyModel tiny, int[][] windows) {
            this.tiny = tiny;
            this.windows = windows;
            this.floatResidual = residuals(tiny.model.weights().layers());
        }

        /** {Δppl against the float model, mean KL(float ‖ quantized) per next token, float ppl}. */
        double[] evaluate(List<LayerWeights> layers) {
            float[][] quant = residuals(layers);
            int vocab = tiny.config.vocabSize();
            double nllF = 0;
            double nllQ = 0;
            double kld = 0;
            long n = 0;
            for (int s = 0; s < windows.length; s++) {
                int[] w = windows[s];
                float[] lf = tiny.forward.head(floatResidual[s], w.length, 0, null).clone();
                float[] lq = tiny.forward.head(quant[s], w.length, 0, null);
                for (int t = 0; t + 1 < w.length; t++) {
                    int off = t * vocab;
                    double zf = logSumExp(lf, off, vocab);
                    double zq = logSumExp(lq, off, vocab);
                    kld += kl(lf, zf, lq, zq, off, vocab);
                    nllF += zf - lf[off + w[t + 1]];
                    nllQ += zq - lq[off + w[t + 1]];
                    n++;
                }
            }
            return new double[] {Math.exp(nllQ / n) - Math.exp(nllF / n), kld / n, Math.exp(nllF / n)};
        }

        /** KL(float ‖ quantized) of one position's logits, {@code z}: each row's log-sum-exp. */
        static double kl(float[] lf, double zf, float[] lq, double zq, int off, int vocab) {
            double kl = 0;
            for (int v = off; v < off + vocab; v++) {
                double lpf = lf[v] - zf;
                kl += Math.exp(lpf) * (lpf - (lq[v] - zq));
            }
            return kl;
        }

        static double logSumExp(float[] x, int off, int n) {
            float max = io.falconq.runtime.eval.LogSoftmax.max(x, off, n);
            return max + Math.log(io.falconq.runtime.eval.LogSoftmax.sumExp(x, off, n, max));
        }

        private float[][] residuals(List<LayerWeights> layers) {
            float[][] h = new float[windows.length][];
            for (int s = 0; s < windows.length; s++) {
                h[s] = tiny.finalResidual(layers, windows[s]);
            }
            return h;
        }
    }

    private static Consumer<LayerWork> method(String name) {
        return switch (name) {
            case "rtn" -> AwqTinyModel::roundToNearest;
            case "clip" -> w -> clipOnly(w, null);
            default -> {
                if (name.startsWith("clip-only:")) {
                    LinearRole only = LinearRole.valueOf(name.substring("clip-only:".length()));
                    yield w -> clipOnly(w, only);
                }
                AwqLoss loss = AwqLoss.ofOptionName(name)
                        .orElseThrow(() -> new IllegalArgumentException("unknown method " + name));
                yield w -> AwqLayerMethod.quantize(w, loss);
            }
        };
    }

    /**
     * AWQ with every candidate scored by the KL divergence of the final logits from the float model's on the search
     * sequences ({@code downstream-kld}; {@code downstream-nll}: their next-token NLL), the float model's later
     * layers run after the searched one: the best the search can do for the model's output distribution.
     */
    private static Consumer<LayerWork> downstream(AwqTinyModel tiny, int[][] calib, String name) {
        int n = AwqLayerMethod.searchSequences(calib.length, calib[0].length);
        int vocab = tiny.config.vocabSize();
        List<LayerWeights> floatLayers = tiny.model.weights().layers();
        float[][] refLogits = new float[n][];
        for (int s = 0; s < n; s++) {
            refLogits[s] = tiny.forward.head(tiny.finalResidual(floatLayers, calib[s]), calib[s].length, 0, null)
                    .clone();
        }
        boolean nll = name.equals("downstream-nll");
        AwqProbe.DownstreamLoss d = (layer, seq, residual) -> {
            float[][] h = {residual.clone()};
            for (int l = layer + 1; l < floatLayers.size(); l++) {
                tiny.run(l, floatLayers.get(l), h);
            }
            int[] w = calib[seq];
            float[] lq = tiny.forward.head(h[0], w.length, 0, null);
            float[] lf = refLogits[seq];
            double total = 0;
            for (int t = 0; t + 1 < w.length; t++) {
                int off = t * vocab;
                double zq = Held.logSumExp(lq, off, vocab);
                if (nll) {
                    total += zq - lq[off + w[t + 1]];
                    continue;
                }
                total += Held.kl(lf, Held.logSumExp(lf, off, vocab), lq, zq, off, vocab);
            }
            return total;
        };
        return work -> AwqLayerMethod.quantize(work, AwqLoss.NORMED_OUTPUT, d);
    }

    /** AWQ's clip search without its scales: q and k round to nearest, the others clipped on their Hessian. */
    private static void clipOnly(LayerWork work, LinearRole only) {
        java.util.EnumSet<LinearRole.InputGroup> groups = java.util.EnumSet.allOf(LinearRole.InputGroup.class);
        groups.remove(LinearRole.InputGroup.FINAL_NORM);
        InputStatistics stats = new InputStatistics(work.layer(), groups, true, work.pool());
        work.runAll(LayerPart.INPUT_NORM, LayerPart.MLP_OUTPUT, List.of(), stats);
        for (LinearRole r : LinearRole.perLayer()) {
            float[] w = work.linear(r);
            int in = work.weights().linear(r).cols();
            String name = r.hfModulePath(work.layer());
            work.setQuantized(r, r == LinearRole.ATTN_Q || r == LinearRole.ATTN_K || (only != null && r != only)
                    ? RtnQuantizer.quantize(name, w, w.length / in, in, work.scheme(), null, false)
                    : RtnQuantizer.quantizeHessianClip(name, w, w.length / in, in, work.scheme(),
                    stats.hessian(r).hessian()));
        }
    }

    /** {@code count} windows: {@code first}, {@code first + step}, … */
    static int[][] every(int[][] windows, int first, int step, int count) {
        int[][] out = new int[count][];
        for (int i = 0; i < count; i++) {
            out[i] = windows[first + i * step];
        }
        return out;
    }
}
