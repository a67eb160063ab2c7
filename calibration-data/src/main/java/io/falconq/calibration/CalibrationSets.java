package io.falconq.calibration;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One text bundled in this jar, addressed as {@code builtin:NAME}, and the registry of all of them.
 *
 * <p>Every Falcon-H1 language {@code LANG} has a calibration text {@code builtin:LANG} and a held-out evaluation
 * text {@code builtin:LANG-eval}; the two never share a sentence of 30 or more code points. {@code builtin:multi}
 * and {@code builtin:multi-eval} mix all languages through {@link CalibrationMix} (equal weights, seed 0). What each
 * file holds, where it came from, under which licence and how it was cleaned is in {@code manifest.tsv} and
 * {@code sources.tsv} beside the files (read here, checked by the module's tests) and in {@code SOURCES.md}.
 */
public final class CalibrationSets {

    /** Prefix of a bundled set in {@code --data}. */
    public static final String SCHEME = "builtin:";

    /** Whether a set is meant to calibrate a quantizer or to score a model on text it was not calibrated with. */
    public enum Purpose { CALIBRATION, EVALUATION }

    /** Per-language budget of the derived {@code multi} sets, in code points; the seed is 0. */
    static final int MULTI_CALIBRATION_CODE_POINTS = 16_000;
    static final int MULTI_EVALUATION_CODE_POINTS = 8_000;
    /**
     * SHA-256 of the derived sets' UTF-8 bytes. Unlike the files, these are not in manifest.tsv: they depend on
     * {@link CalibrationMix}'s algorithm, so a change to it must show up here (the test names the new value).
     */
    static final String MULTI_SHA256 = "cfcf27c1e004470621065ebd113d0911eb4e5efd32a34868b54b62bf99dd14ff";
    static final String MULTI_EVAL_SHA256 = "89ab594a31db794fb067a1610f0b335c4da3b2523d37ae0c8be5bedda9392934";

    private static final String MANIFEST = "manifest.tsv";
    private static final String MULTI = "multi";
    private static final Map<String, CalibrationSets> SETS = load();

    private final String id;
    private final String languageCode;
    private final String language;
    private final Purpose purpose;
    private final String resource;       // null for a derived set
    private final String sha256;
    private final String sources;
    private final String processing;
    private volatile byte[] derived;

    private CalibrationSets(String id, String languageCode, String language, Purpose purpose, String resource,
                            String sha256, String sources, String processing) {
        this.id = id;
        this.languageCode = languageCode;
        this.language = language;
        this.purpose = purpose;
        this.resource = resource;
        this.sha256 = sha256;
        this.sources = sources;
        this.processing = processing;
    }

    /** {@code de}, {@code de-eval}, {@code multi}. */
    public String id() {
        return id;
    }

    /** ISO 639-1 code ({@code de}), or {@code multi}. */
    public String languageCode() {
        return languageCode;
    }

    /** English name of the language ({@code German}). */
    public String language() {
        return language;
    }

    public Purpose purpose() {
        return purpose;
    }

    /** Expected SHA-256 of the UTF-8 bytes, lower-case hex. */
    public String sha256() {
        return sha256;
    }

    /** Source ids of {@code sources.tsv} joined by ';' (package, version, licence there). */
    public String sources() {
        return sources;
    }

    /** How the text was extracted, cleaned and split, as recorded in the manifest. */
    public String description() {
        return processing;
    }

    /** The resource file beside this class, or empty for a set derived from the others. */
    public Optional<String> resource() {
        return Optional.ofNullable(resource);
    }

    /** {@code builtin:<id>}. */
    public String address() {
        return SCHEME + id;
    }

    public byte[] bytes() {
        if (resource != null) {
            return readResource(resource);
        }
        byte[] b = derived;
        if (b == null) {
            derived = b = mixAll().text().getBytes(StandardCharsets.UTF_8);
        }
        return b.clone();
    }

    public String text() {
        return new String(bytes(), StandardCharsets.UTF_8);
    }

    /**
     * The sample behind a derived {@code multi} set, with each language's share and SHA-256; for a single-language
     * set, the whole text as one share.
     */
    public CalibrationMix.Sample mixAll() {
        if (resource != null) {
            return CalibrationMix.sample(List.of(new CalibrationMix.Source(languageCode, 1, text())), Long.MAX_VALUE, 0);
        }
        int perLanguage = purpose == Purpose.CALIBRATION ? MULTI_CALIBRATION_CODE_POINTS : MULTI_EVALUATION_CODE_POINTS;
        List<CalibrationMix.Source> parts = new ArrayList<>();
        for (String lang : languages()) {
            CalibrationSets s = purpose == Purpose.CALIBRATION ? calibration(lang) : evaluation(lang);
            parts.add(new CalibrationMix.Source(lang, 1, s.text()));
        }
        return CalibrationMix.sample(parts, (long) perLanguage * parts.size(), 0);
    }

    /** The set named by {@code builtin:NAME} (or just NAME), if bundled. */
    public static Optional<CalibrationSets> find(String nameOrAddress) {
        String n = nameOrAddress.startsWith(SCHEME) ? nameOrAddress.substring(SCHEME.length()) : nameOrAddress;
        return Optional.ofNullable(SETS.get(n.toLowerCase(Locale.ROOT)));
    }

    /** Every bundled set: calibration sets first (en, es, then by code, multi), then evaluation sets. */
    public static List<CalibrationSets> all() {
        List<CalibrationSets> out = new ArrayList<>();
        for (Purpose p : Purpose.values()) {
            SETS.values().stream().filter(s -> s.purpose == p).forEach(out::add);
        }
        return Collections.unmodifiableList(out);
    }

    /** The ISO 639-1 codes that have bundled text, in manifest order (en, es, then alphabetical); not multi. */
    public static List<String> languages() {
        return SETS.values().stream().filter(s -> s.purpose == Purpose.CALIBRATION && s.resource != null)
                .map(CalibrationSets::languageCode).toList();
    }

    /** {@code builtin:LANG} ({@code multi} for the mix of all). */
    public static CalibrationSets calibration(String languageCode) {
        return require(languageCode, languageCode);
    }

    /** {@code builtin:LANG-eval} ({@code multi} for the mix of all), held out from {@link #calibration}. */
    public static CalibrationSets evaluation(String languageCode) {
        return require(languageCode, languageCode + "-eval");
    }

    /** "en, es, ar, …, multi, en-eval, …": for error messages and help. */
    public static String names() {
        return String.join(", ", all().stream().map(CalibrationSets::id).toList());
    }

    private static CalibrationSets require(String languageCode, String id) {
        CalibrationSets s = SETS.get(id.toLowerCase(Locale.ROOT));
        if (s == null) {
            throw new IllegalArgumentException("no bundled text for language '" + languageCode + "' (bundled: "
                    + String.join(", ", languages()) + ", multi)");
        }
        return s;
    }

    static byte[] readResource(String name) {
        try (InputStream in = CalibrationSets.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("bundled calibration file " + name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Columns: set, file, language, language_name, purpose, bytes, sha256, sources, processing; '#' lines are comments. */
    private static Map<String, CalibrationSets> load() {
        String tsv = new String(readResource(MANIFEST), StandardCharsets.UTF_8);
        Map<String, CalibrationSets> sets = new LinkedHashMap<>();
        int lineNo = 0;
        for (String line : tsv.split("\n")) {
            lineNo++;
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", -1);
            if (f.length != 9) {
                throw new IllegalStateException(MANIFEST + " line " + lineNo + ": expected 9 tab-separated columns, found "
                        + f.length);
            }
            Purpose purpose = Purpose.valueOf(f[4].toUpperCase(Locale.ROOT));
            boolean derived = f[1].equals("-");
            if (derived != f[0].startsWith(MULTI)) {
                throw new IllegalStateException(MANIFEST + " line " + lineNo + ": only the multi sets are derived");
            }
            String sha = derived ? (purpose == Purpose.CALIBRATION ? MULTI_SHA256 : MULTI_EVAL_SHA256) : f[6];
            if (sets.put(f[0], new CalibrationSets(f[0], f[2], f[3], purpose, derived ? null : f[1], sha, f[7], f[8]))
                    != null) {
                throw new IllegalStateException(MANIFEST + " line " + lineNo + ": set " + f[0] + " listed twice");
            }
        }
        return Collections.unmodifiableMap(sets);
    }

    @Override
    public String toString() {
        return address();
    }
}
