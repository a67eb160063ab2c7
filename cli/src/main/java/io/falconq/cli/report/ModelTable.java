package io.falconq.cli.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The per-model results table as text cells, shared by the Markdown and HTML reports so both show exactly the same
 * numbers. Every number is formatted here, with {@link Locale#ROOT}.
 */
record ModelTable(List<String> headers, List<List<String>> rows) {
    static final List<String> HEADERS = List.of("Variant", "Kind", "Type mix", "Size", "Bits/weight", "PPL",
            "ΔPPL", "KLD mean", "KLD p99", "Top-1", "Tokens/s");

    static final String NONE = "—";

    static ModelTable of(ModelReport model) {
        List<List<String>> rows = new ArrayList<>();
        ModelReport.BaselineResult base = model.baseline();
        rows.add(List.of(model.source().dtype() + " (original)", "original", NONE, size(base.fileSizeBytes()),
                bitsPerWeight(base.bitsPerWeight()), ppl(base.ppl(), base.pplError()), NONE, NONE, NONE, NONE,
                tokensPerSecond(base.tokensPerSecond())));
        for (VariantReport v : model.variants()) {
            rows.add(List.of(v.name(), v.kind().name().toLowerCase(Locale.ROOT), typeMix(v.typeMix()),
                    size(v.fileSizeBytes()), bitsPerWeight(v.bitsPerWeight()), ppl(v.ppl(), v.pplError()),
                    deltaPpl(v.deltaPpl(), v.deltaPplError()), kld(v.kld().mean()), kld(v.kld().p99()), top1(v.top1Percent()),
                    tokensPerSecond(v.tokensPerSecond())));
        }
        return new ModelTable(HEADERS, List.copyOf(rows));
    }

    static final List<String> LANGUAGE_HEADERS = List.of("Variant", "Language", "Scored tokens", "PPL", "ΔPPL",
            "KLD mean", "KLD p99", "Top-1");

    /** All = the variant's own figures, over every language's positions together. */
    static final String ALL_LANGUAGES = "all (token-weighted)";

    /**
     * The per-language table (null when the evaluation had one unlabelled text): the original's perplexity per
     * language, then per variant its overall row and one row per language.
     */
    static ModelTable perLanguage(ModelReport model) {
        if (model.baseline().languages().isEmpty()) {
            return null;
        }
        List<List<String>> rows = new ArrayList<>();
        String original = model.source().dtype() + " (original)";
        ModelReport.BaselineResult base = model.baseline();
        rows.add(List.of(original, ALL_LANGUAGES, NONE, ppl(base.ppl(), base.pplError()), NONE, NONE, NONE, NONE));
        for (ModelReport.LanguagePpl l : base.languages()) {
            rows.add(List.of(original, l.language(), Long.toString(l.scoredTokens()), ppl(l.ppl(), l.pplError()),
                    NONE, NONE, NONE, NONE));
        }
        for (VariantReport v : model.variants()) {
            rows.add(List.of(v.name(), ALL_LANGUAGES, NONE, ppl(v.ppl(), v.pplError()),
                    deltaPpl(v.deltaPpl(), v.deltaPplError()), kldWithError(v.kld()), kld(v.kld().p99()),
                    top1(v.top1Percent())));
            for (VariantReport.LanguageResult l : v.languages()) {
                rows.add(List.of(v.name(), l.language(), Long.toString(l.scoredTokens()), ppl(l.ppl(), l.pplError()),
                        deltaPpl(l.deltaPpl(), l.deltaPplError()), kldWithError(l.kld()), kld(l.kld().p99()),
                        top1(l.top1Percent())));
            }
        }
        return new ModelTable(LANGUAGE_HEADERS, List.copyOf(rows));
    }

    static String size(long bytes) {
        double mib = bytes / (1024.0 * 1024.0);
        return mib < 1024 ? String.format(Locale.ROOT, "%.2f MiB", mib)
                : String.format(Locale.ROOT, "%.2f GiB", mib / 1024.0);
    }

    static String bitsPerWeight(double bpw) {
        return String.format(Locale.ROOT, "%.2f", bpw);
    }

    static String ppl(double ppl, double error) {
        return String.format(Locale.ROOT, "%.4f ± %.4f", ppl, error);
    }

    static String deltaPpl(double delta, double error) {
        return String.format(Locale.ROOT, "%+.4f ± %.4f", delta, error);
    }

    static String kld(double nats) {
        return String.format(Locale.ROOT, "%.6f", nats);
    }

    /** Mean KLD and its standard error: per-language means are compared with each other, so they carry it. */
    static String kldWithError(VariantReport.KldStats k) {
        return String.format(Locale.ROOT, "%.6f ± %.6f", k.mean(), k.meanError());
    }

    static String top1(double percent) {
        return String.format(Locale.ROOT, "%.2f %%", percent);
    }

    static String tokensPerSecond(double tps) {
        return String.format(Locale.ROOT, "%.1f", tps);
    }

    static String typeMix(Map<String, Integer> mix) {
        return mix.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
    }
}
