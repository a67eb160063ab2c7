package io.falconq.calibration;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CalibrationSetsTest {
    /** The 18 languages Falcon-H1 is trained for. */
    private static final List<String> FALCON_H1 = List.of("ar", "cs", "de", "en", "es", "fr", "hi", "it", "ja", "ko",
            "nl", "pl", "pt", "ro", "ru", "sv", "ur", "zh");
    /** Sentence ends of the scripts bundled here (Latin, Arabic/Urdu, Devanagari, CJK) and line ends. */
    private static final Pattern SENTENCE_END = Pattern.compile("[.!?。！？؟।۔\n]");
    private static final int MIN_SENTENCE = 30;

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void everyBundledTextMatchesItsManifestChecksum() throws Exception {
        for (CalibrationSets s : CalibrationSets.all()) {
            byte[] b = s.bytes();
            assertEquals(s.sha256(), sha256(b), s.address() + " (derived sets: pin the new value in CalibrationSets)");
            assertTrue(s.text().indexOf('\r') < 0, s.address() + ": LF line ends");
            assertTrue(s.text().endsWith("\n") && !s.text().startsWith("\n"), s.address());
            assertEquals(b.length, s.text().getBytes(StandardCharsets.UTF_8).length, s.address() + ": valid UTF-8");
        }
    }

    @Test
    void manifestRecordsTheFileSizesAndKnownSources() {
        String manifest = new String(CalibrationSets.readResource("manifest.tsv"), StandardCharsets.UTF_8);
        Set<String> sources = new HashSet<>();
        for (String line : new String(CalibrationSets.readResource("sources.tsv"), StandardCharsets.UTF_8).split("\n")) {
            if (!line.startsWith("#")) {
                String[] f = line.split("\t", -1);
                assertEquals(7, f.length, line);
                assertFalse(f[6].isBlank(), "licence of " + f[0]);
                sources.add(f[0]);
            }
        }
        for (String line : manifest.split("\n")) {
            if (line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", -1);
            CalibrationSets s = CalibrationSets.find(f[0]).orElseThrow();
            if (s.resource().isPresent()) {
                assertEquals(Long.parseLong(f[5]), s.bytes().length, f[0]);
                for (String src : f[7].split(";")) {
                    assertTrue(sources.contains(src), f[0] + ": source " + src + " not in sources.tsv");
                }
            }
        }
    }

    @Test
    void everyFalconH1LanguageHasCalibrationAndEvaluationText() {
        assertEquals(Set.copyOf(FALCON_H1), Set.copyOf(CalibrationSets.languages()));
        for (String lang : FALCON_H1) {
            CalibrationSets c = CalibrationSets.calibration(lang);
            CalibrationSets e = CalibrationSets.evaluation(lang);
            assertEquals(CalibrationSets.Purpose.CALIBRATION, c.purpose());
            assertEquals(CalibrationSets.Purpose.EVALUATION, e.purpose());
            assertEquals(lang, c.languageCode());
            assertEquals(lang, e.languageCode());
            // thin languages (hi, ur: only the UDHR is available) are listed in SOURCES.md
            assertTrue(c.bytes().length >= 10_000, c.address() + " is " + c.bytes().length + " bytes");
            assertTrue(e.bytes().length >= 7_000, e.address() + " is " + e.bytes().length + " bytes");
        }
        long total = CalibrationSets.all().stream().filter(s -> s.resource().isPresent())
                .mapToLong(s -> s.bytes().length).sum();
        assertTrue(total < 8_000_000, "module text is " + total + " bytes");
    }

    /** No evaluation text shares a sentence of >= 30 code points with any calibration text (of any language). */
    @Test
    void evaluationTextsAreHeldOutFromCalibrationTexts() {
        Map<String, String> calibrationSentences = new HashMap<>();
        for (String lang : CalibrationSets.languages()) {
            for (String s : sentences(CalibrationSets.calibration(lang).text())) {
                calibrationSentences.putIfAbsent(s, lang);
            }
        }
        int checked = 0;
        for (String lang : CalibrationSets.languages()) {
            Set<String> eval = sentences(CalibrationSets.evaluation(lang).text());
            assertTrue(eval.size() >= 30, lang + "-eval has only " + eval.size() + " long sentences");
            for (String s : eval) {
                String in = calibrationSentences.get(s);
                assertTrue(in == null, "builtin:" + lang + "-eval shares a sentence with builtin:" + in + ": " + s);
                checked++;
            }
        }
        assertTrue(checked > 1_000, "checked " + checked);
        Set<String> multiEval = sentences(CalibrationSets.evaluation("multi").text());
        multiEval.retainAll(sentences(CalibrationSets.calibration("multi").text()));
        assertEquals(Set.of(), multiEval);
    }

    private static Set<String> sentences(String text) {
        Set<String> out = new HashSet<>();
        for (String s : SENTENCE_END.split(text)) {
            String n = String.join(" ", s.trim().split("\\s+"));
            if (n.codePointCount(0, n.length()) >= MIN_SENTENCE) {
                out.add(n);
            }
        }
        return out;
    }

    @Test
    void addressesResolve() {
        assertEquals(CalibrationSets.calibration("en"), CalibrationSets.find("builtin:en").orElseThrow());
        assertEquals(CalibrationSets.evaluation("de"), CalibrationSets.find("builtin:DE-eval").orElseThrow());
        assertEquals("builtin:multi-eval", CalibrationSets.evaluation("multi").address());
        assertTrue(CalibrationSets.find("builtin:xx").isEmpty());
        assertThrows(IllegalArgumentException.class, () -> CalibrationSets.calibration("xx"));
        assertTrue(CalibrationSets.names().startsWith("en, es, "), CalibrationSets.names());
        assertTrue(CalibrationSets.find("ES").orElseThrow().text().startsWith("Génesis 1\n\n1 EN el principio crió Dios"));
        assertEquals("German", CalibrationSets.calibration("de").language());
    }

    @Test
    void multiMixesEveryLanguage() {
        CalibrationMix.Sample s = CalibrationSets.calibration("multi").mixAll();
        assertEquals(FALCON_H1.size(), s.shares().size());
        for (CalibrationMix.Share share : s.shares()) {
            assertEquals(CalibrationSets.MULTI_CALIBRATION_CODE_POINTS, share.budgetCodePoints(), share.language());
            assertEquals(CalibrationSets.calibration(share.language()).sha256(), share.sourceSha256());
            assertTrue(share.codePoints() > 5_000, share.language() + ": " + share.codePoints());
        }
        assertEquals(s.sha256(), CalibrationSets.calibration("multi").sha256());
    }
}
