package io.falconq.cli.report;

import java.util.Locale;
import java.util.stream.Collectors;

/** Plain-text sentences shared by the Markdown and HTML reports (each escapes them for its format). */
final class ReportSentences {
    private ReportSentences() {
    }

    /** The per-language texts, or null for one unlabelled text. */
    static String texts(EvaluationSetup eval) {
        if (eval.texts().isEmpty()) {
            return null;
        }
        return "Each language's text is tokenized and windowed on its own; the variant rows give figures over all "
                + "their positions together (token-weighted). Texts: " + eval.texts().stream()
                .map(t -> String.format(Locale.ROOT, "%s = %s (%d windows, %d scored tokens)", t.language(),
                        t.dataset(), t.chunks(), t.scoredTokens()))
                .collect(Collectors.joining("; ")) + ".";
    }

    /** What the model was calibrated on, or null when nothing was. */
    static String calibration(CalibrationReport c) {
        if (c == null) {
            return null;
        }
        String how = c.sampled() ? "sampled per language with seed " + c.seed() : "read from its start";
        return String.format(Locale.ROOT, "Calibration: %s, %s: %d sequences of %d tokens (token SHA-256 %s); %s.",
                c.data(), how, c.sequences(), c.contextLength(), c.tokensSha256(), c.languages().stream()
                        .map(l -> l.language() + " " + l.tokens() + " tokens" + (l.exhausted() ? " (text exhausted)" : ""))
                        .collect(Collectors.joining(", ")));
    }

    /**
     * One line per {@code auto@} variant: its budget, and the allocator's predicted KLD (the sum of the tensors'
     * measured ΔKLD, each alone) beside the KLD measured on the evaluation text.
     */
    static java.util.List<String> allocations(ModelReport model) {
        return model.variants().stream().filter(v -> v.allocation() != null).map(v -> String.format(Locale.ROOT,
                "%s: budget %s, file %,d bytes (%.3f bits/weight); predicted KLD %.4g (sum of the measured ΔKLD of "
                        + "each tensor's chosen type), measured mean KLD %.4g ± %.2g.", v.name(),
                budget(v.allocation().budget()), v.fileSizeBytes(), v.bitsPerWeight(),
                v.allocation().predictedDeltaKld(), v.kld().mean(), v.kld().meanError())).toList();
    }

    /** {@code size:BYTES} / {@code bpw:BITS} as words. */
    static String budget(String label) {
        return label.startsWith("size:") ? String.format(Locale.ROOT, "%,d bytes", Long.parseLong(label.substring(5)))
                : label.startsWith("bpw:") ? label.substring(4) + " bits/weight" : label;
    }
}
