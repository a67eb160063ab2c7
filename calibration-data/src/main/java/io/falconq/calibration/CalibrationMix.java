package io.falconq.calibration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * A multilingual calibration text sampled deterministically from per-language texts with weights.
 *
 * <p>Sampling is by code points at the line level (tokenization happens later, in the runtime): every non-blank line
 * of a source is one unit (the bundled files hold one paragraph, verse or article per line). Language {@code i} gets
 * {@code floor(totalCodePoints * w_i / sum(w))} code points: its lines are visited in an order shuffled by the seed
 * (Fisher-Yates over SplitMix64, seeded with {@code seed} and the language code, so it never depends on the JDK) and
 * taken until the budget is reached (the last line may overshoot it); a source shorter than its budget gives all it has
 * and its {@link Share#exhausted()} says so, nothing is redistributed. The chosen lines keep their source order and
 * are cut into blocks of at least {@value #BLOCK_CODE_POINTS} code points, and the blocks are emitted round-robin in
 * the order of the sources, so that a caller who reads only the start of the text (say {@code --chunks 10}) still
 * sees every language. Lines of a block are joined by '\n', blocks by a blank line.
 *
 * <p>The same sources, weights, budget and seed give the same bytes. {@link Sample#shares()} reports each language's
 * code points, lines and the SHA-256 of both its sampled lines and its whole source, for step keys and reports.
 */
public final class CalibrationMix {

    /** Minimum size of a run of one language's lines in the output. */
    public static final int BLOCK_CODE_POINTS = 2_000;

    private CalibrationMix() {
    }

    /** One language's text and its relative weight (> 0). */
    public record Source(String language, double weight, String text) {
        public Source {
            checkLabel(language, weight);
        }

        /**
         * {@code LANG=TEXT} or {@code LANG:WEIGHT=TEXT}, TEXT being {@code builtin:NAME} or a UTF-8 file, e.g.
         * {@code de:2=builtin:de}, {@code fr=corpus/fr.txt}. The weight defaults to 1.
         */
        public static Source parse(String spec) {
            Spec s = Spec.parse(spec);
            return new Source(s.language(), s.weight(), read(s.address()));
        }

        private static String read(String address) {
            if (address.startsWith(CalibrationSets.SCHEME)) {
                return CalibrationSets.find(address).orElseThrow(() -> new IllegalArgumentException(address
                        + ": no such bundled text (bundled: " + CalibrationSets.names() + ")")).text();
            }
            try {
                return Files.readString(Path.of(address), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(address + ": cannot read as UTF-8 text", e);
            }
        }
    }

    /** A parsed {@code LANG[:WEIGHT]=TEXT} before its text is read: {@code address} is the TEXT part. */
    public record Spec(String language, double weight, String address) {
        public Spec {
            checkLabel(language, weight);
        }

        public static Spec parse(String spec) {
            int eq = spec.indexOf('=');
            if (eq <= 0 || eq == spec.length() - 1) {
                throw new IllegalArgumentException("'" + spec + "': expected LANG[:WEIGHT]=TEXT");
            }
            String head = spec.substring(0, eq);
            String language = head;
            double weight = 1;
            int colon = head.indexOf(':');
            if (colon >= 0) {
                language = head.substring(0, colon);
                try {
                    weight = Double.parseDouble(head.substring(colon + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + spec + "': weight '" + head.substring(colon + 1)
                            + "' is not a number", e);
                }
            }
            return new Spec(language, weight, spec.substring(eq + 1));
        }
    }

    private static void checkLabel(String language, double weight) {
        if (language == null || language.isBlank() || language.contains("=") || language.contains(":")) {
            throw new IllegalArgumentException("language must be a non-empty code without '=' or ':', found '"
                    + language + "'");
        }
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException(language + ": weight must be finite and > 0, found " + weight);
        }
    }

    /**
     * What one language contributed: its budget, the code points and lines taken, SHA-256 of the taken lines joined by
     * '\n' (in output order) and of the whole source text (UTF-8), and whether the source ran out before the budget.
     */
    public record Share(String language, double weight, long budgetCodePoints, long codePoints, int lines,
                        String sha256, String sourceSha256, boolean exhausted) {
    }

    /** The mixed text and each language's share, in the order of the sources. */
    public record Sample(String text, List<Share> shares) {
        public String sha256() {
            return CalibrationMix.sha256(text);
        }
    }

    /** Mixes {@code sources} (distinct languages) into about {@code totalCodePoints} code points. */
    public static Sample sample(List<Source> sources, long totalCodePoints, long seed) {
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("no sources to mix");
        }
        if (totalCodePoints <= 0) {
            throw new IllegalArgumentException("budget must be > 0 code points, found " + totalCodePoints);
        }
        Set<String> seen = new HashSet<>();
        double weights = 0;
        for (Source s : sources) {
            if (!seen.add(s.language())) {
                throw new IllegalArgumentException("language " + s.language() + " given twice");
            }
            weights += s.weight();
        }
        List<List<String>> blocks = new ArrayList<>();
        List<Share> shares = new ArrayList<>();
        for (Source s : sources) {
            long budget = (long) Math.floor(totalCodePoints * (s.weight() / weights));
            List<String> lines = s.text().lines().filter(l -> !l.isBlank()).toList();
            boolean[] chosen = new boolean[lines.size()];
            long taken = 0;
            int count = 0;
            for (int i : shuffledIndices(lines.size(), seed, s.language())) {
                if (taken >= budget) {
                    break;
                }
                chosen[i] = true;
                taken += lines.get(i).codePointCount(0, lines.get(i).length());
                count++;
            }
            List<String> picked = new ArrayList<>(count);
            for (int i = 0; i < lines.size(); i++) {
                if (chosen[i]) {
                    picked.add(lines.get(i));
                }
            }
            blocks.add(joinBlocks(picked));
            shares.add(new Share(s.language(), s.weight(), budget, taken, count, sha256(String.join("\n", picked)),
                    sha256(s.text()), taken < budget));
        }
        StringBuilder out = new StringBuilder();
        for (int round = 0; ; round++) {
            boolean any = false;
            for (List<String> perLanguage : blocks) {
                if (round < perLanguage.size()) {
                    if (!out.isEmpty()) {
                        out.append("\n\n");
                    }
                    out.append(perLanguage.get(round));
                    any = true;
                }
            }
            if (!any) {
                break;
            }
        }
        if (!out.isEmpty()) {
            out.append('\n');
        }
        return new Sample(out.toString(), List.copyOf(shares));
    }

    private static List<String> joinBlocks(List<String> lines) {
        List<String> blocks = new ArrayList<>();
        StringBuilder block = new StringBuilder();
        int size = 0;
        for (String line : lines) {
            if (!block.isEmpty()) {
                block.append('\n');
            }
            block.append(line);
            size += line.codePointCount(0, line.length());
            if (size >= BLOCK_CODE_POINTS) {
                blocks.add(block.toString());
                block.setLength(0);
                size = 0;
            }
        }
        if (!block.isEmpty()) {
            blocks.add(block.toString());
        }
        return blocks;
    }

    /** Fisher-Yates over SplitMix64, seeded with the seed and the language's UTF-8 bytes (FNV-1a). */
    static int[] shuffledIndices(int n, long seed, String language) {
        long h = 0xcbf29ce484222325L;
        for (byte b : language.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        long state = seed ^ h;
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            state += 0x9e3779b97f4a7c15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            z ^= z >>> 31;
            int j = (int) Long.remainderUnsigned(z, i + 1);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        return idx;
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
