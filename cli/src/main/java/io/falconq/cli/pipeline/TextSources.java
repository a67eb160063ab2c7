package io.falconq.cli.pipeline;

import io.falconq.calibration.CalibrationMix;
import io.falconq.calibration.CalibrationSets;
import io.falconq.formats.io.Sha256;
import io.falconq.runtime.eval.LogitsFolder;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The texts named by {@code --calib-data} / {@code --data} / {@code --eval-data}, each with its language label and
 * weight. Each value given is one of
 * <ul>
 *   <li>{@code builtin:multi}: every bundled language, {@code LANG=builtin:LANG} for calibration and the held-out
 *       {@code LANG=builtin:LANG-eval} for evaluation ({@code builtin:multi-eval}: the held-out texts for either);</li>
 *   <li>{@code LANG=TEXT} or {@code LANG:WEIGHT=TEXT} ({@link CalibrationMix.Source#parse}'s syntax), TEXT a file
 *       or {@code builtin:NAME};</li>
 *   <li>{@code builtin:NAME} or a UTF-8 file alone, labelled with the set's language or the file's name.</li>
 * </ul>
 * One unlabelled text is read exactly as before per-language texts existed ({@link #labelled()} false): one
 * token stream, no per-language rows. Weights only matter for calibration mixes.
 *
 * @param label     the values as given, joined by ','
 * @param texts     in the order given (builtin:multi: manifest order)
 * @param labelled  whether per-language results are reported (a LANG= label, builtin:multi, or several texts)
 */
public record TextSources(String label, List<Text> texts, boolean labelled) {

    /** One text: its language (or file name), weight and content. */
    public record Text(String language, double weight, TextInput input) {
    }

    public enum Purpose { CALIBRATION, EVALUATION }

    private static final String MULTI = CalibrationSets.SCHEME + "multi";
    private static final String MULTI_EVAL = CalibrationSets.SCHEME + "multi-eval";

    public TextSources {
        texts = List.copyOf(texts);
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("no text given");
        }
        List<String> seen = new ArrayList<>();
        for (Text t : texts) {
            if (labelled) {
                LogitsFolder.checkLabel(t.language()); // a file name of the logits folder
            }
            if (seen.contains(t.language())) {
                throw new IllegalArgumentException("text " + t.language() + " given twice (label them LANG=TEXT)");
            }
            seen.add(t.language());
        }
    }

    /** Parses the values of a text option; a missing file or bundled set is an InvalidInputException. */
    public static TextSources parse(List<String> specs, Purpose purpose) {
        List<Text> texts = new ArrayList<>();
        boolean labelled = false;
        for (String spec : specs) {
            if (spec.equals(MULTI) || spec.equals(MULTI_EVAL)) {
                boolean eval = purpose == Purpose.EVALUATION || spec.equals(MULTI_EVAL);
                for (String lang : CalibrationSets.languages()) {
                    CalibrationSets set = eval ? CalibrationSets.evaluation(lang) : CalibrationSets.calibration(lang);
                    texts.add(new Text(lang, 1, TextInput.read(set.address())));
                }
                labelled = true;
            } else if (isLabelled(spec)) {
                CalibrationMix.Spec parsed = CalibrationMix.Spec.parse(spec);
                if (parsed.weight() != 1 && purpose == Purpose.EVALUATION) {
                    throw new IllegalArgumentException("'" + spec + "': weights apply to calibration texts only");
                }
                texts.add(new Text(parsed.language(), parsed.weight(), TextInput.read(parsed.address())));
                labelled = true;
            } else {
                String language = spec.startsWith(CalibrationSets.SCHEME)
                        ? CalibrationSets.find(spec).map(CalibrationSets::languageCode).orElse("?")
                        : fileLabel(spec);
                texts.add(new Text(language, 1, TextInput.read(spec)));
            }
        }
        return new TextSources(String.join(",", specs), texts, labelled || texts.size() > 1);
    }

    /** {@code LANG[:W]=TEXT}: an '=' before any path separator, with a non-empty head. */
    private static boolean isLabelled(String spec) {
        int eq = spec.indexOf('=');
        int slash = spec.indexOf('/');
        return eq > 0 && (slash < 0 || eq < slash) && !spec.startsWith(CalibrationSets.SCHEME);
    }

    private static String fileLabel(String path) {
        Path name = Path.of(path).getFileName();
        return name == null ? path : name.toString();
    }

    /** The one text, when there is only one. */
    public TextInput single() {
        if (texts.size() != 1) {
            throw new IllegalStateException(label + ": " + texts.size() + " texts");
        }
        return texts.getFirst().input();
    }

    /** All texts end to end as one input, for estimates that only need the amount of text (the dry run). */
    public TextInput joined() {
        if (texts.size() == 1) {
            return single();
        }
        return new TextInput(label, String.join("\n", texts.stream().map(t -> t.input().text()).toList()), sha256());
    }

    /**
     * SHA-256 that changes with any text, label, weight or their order; for one unlabelled text, the text's own
     * (so step keys of runs made before per-language texts existed stay valid).
     */
    public String sha256() {
        if (!labelled) {
            return single().sha256();
        }
        StringBuilder s = new StringBuilder();
        for (Text t : texts) {
            s.append(t.language()).append('\t').append(String.format(Locale.ROOT, "%s", t.weight())).append('\t')
                    .append(t.input().sha256()).append('\n');
        }
        return Sha256.of(s.toString().getBytes(StandardCharsets.UTF_8));
    }
}
