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
}
