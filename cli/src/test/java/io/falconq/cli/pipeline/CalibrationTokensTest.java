package io.falconq.cli.pipeline;

import io.falconq.calibration.CalibrationSets;
import io.falconq.cli.report.CalibrationReport;
import io.falconq.formats.io.Sha256;
import io.falconq.jobs.imatrix.CalibrationRunner;
import io.falconq.runtime.text.HfTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one rule from calibration texts to sequences, on the tiny model's tokenizer. */
class CalibrationTokensTest {
    private static HfTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = HfTokenizer.load(ArtifactPlannerTest.shared().resolve("models/falcon-h1-tiny"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static TextSources calibration(String... specs) {
        return TextSources.parse(List.of(specs), TextSources.Purpose.CALIBRATION);
    }

    @Test
    void oneTextIsLlamaImatrixsChunksFromItsStart() {
        CalibrationTokens t = CalibrationTokens.of(calibration("builtin:es"), 7, tokenizer, 64, 3);
        int[] ids = tokenizer.encodeForModel(CalibrationSets.find("builtin:es").orElseThrow().text());
        int[][] expected = CalibrationRunner.sequences(ids, tokenizer.bosId().orElseThrow(), 64, 3);
        assertArrayEquals(expected, t.sequences());
        assertFalse(t.report().sampled(), "one text is not sampled, whatever the seed");
        assertEquals(List.of("es"), t.report().languages().stream().map(CalibrationReport.LanguageTokens::language)
                .toList());
        assertEquals(3 * 64, t.report().tokens());
        assertArrayEquals(Arrays.stream(expected).flatMapToInt(Arrays::stream).toArray(), t.stream());
    }

    @Test
    void aMixSharesSequencesByWeightAndRecordsThem() {
        CalibrationTokens t = CalibrationTokens.of(calibration("de:2=builtin:de", "fr=builtin:fr", "ja=builtin:ja"),
                0, tokenizer, 48, 9);
        List<CalibrationReport.LanguageTokens> langs = t.report().languages();
        // 9 · 2/4 = 4.5, 9 · 1/4 = 2.25 twice: floors 4, 2, 2 and the one left to the largest remainder (de)
        assertEquals(List.of(5, 2, 2), langs.stream().map(CalibrationReport.LanguageTokens::sequences).toList());
        assertEquals(9, t.sequences().length);
        int bos = tokenizer.bosId().orElseThrow();
        for (int[] s : t.sequences()) {
            assertEquals(48, s.length);
            assertEquals(bos, s[0], "every sequence starts with BOS");
        }
        // interleaved in text order: de, fr, ja, de, fr, ja, de, de, de
        assertEquals(Sha256.ofInts(List.of(t.sequences()[0], t.sequences()[3], t.sequences()[6],
                t.sequences()[7], t.sequences()[8])), langs.get(0).tokensSha256());
        assertEquals(Sha256.ofInts(List.of(t.sequences())), t.report().tokensSha256());
        assertTrue(t.report().sampled());
        assertEquals(9L * 48, t.report().tokens());
    }

    @Test
    void theSeedChoosesTheLinesAndTheSameSeedGivesTheSameTokens() {
        TextSources mix = calibration("builtin:multi");
        CalibrationTokens a = CalibrationTokens.of(mix, 1, tokenizer, 32, 18);
        CalibrationTokens b = CalibrationTokens.of(mix, 1, tokenizer, 32, 18);
        CalibrationTokens c = CalibrationTokens.of(mix, 2, tokenizer, 32, 18);
        assertEquals(a.report(), b.report());
        assertNotEquals(a.report().tokensSha256(), c.report().tokensSha256());
        assertEquals(CalibrationSets.languages(), a.report().languages().stream()
                .map(CalibrationReport.LanguageTokens::language).toList());
        assertTrue(a.report().languages().stream().allMatch(l -> l.sequences() == 1));
    }

    @Test
    void allChunksOfAMixIsWhatEveryTextCanGiveItsShareOf() {
        CalibrationTokens t = CalibrationTokens.of(calibration("hi=builtin:hi", "ur=builtin:ur"), 0, tokenizer, 512,
                -1);
        int hi = CalibrationRunner.chunkCount(tokenizer.encodeForModel(CalibrationSets.find("builtin:hi")
                .orElseThrow().text()).length, 512, -1);
        int ur = CalibrationRunner.chunkCount(tokenizer.encodeForModel(CalibrationSets.find("builtin:ur")
                .orElseThrow().text()).length, 512, -1);
        assertEquals(2 * Math.min(hi, ur), t.sequences().length, "hi " + hi + ", ur " + ur + " whole chunks");
    }

    @Test
    void badSpecsAreRefusedWithTheirReason() {
        assertThrows(IllegalArgumentException.class, () -> calibration("de=builtin:de", "de=builtin:de"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> calibration("de:x=builtin:de")).getMessage()
                .contains("not a number"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> TextSources.parse(List.of("de:2=builtin:de"), TextSources.Purpose.EVALUATION)).getMessage()
                .contains("calibration texts only"));
        TextSources eval = TextSources.parse(List.of("builtin:multi"), TextSources.Purpose.EVALUATION);
        assertEquals("builtin:de-eval", eval.texts().get(CalibrationSets.languages().indexOf("de")).input().label());
        assertTrue(eval.labelled());
        assertFalse(calibration("builtin:en").labelled());
    }

    @Test
    void oneUnlabelledFileMayHaveAnyName(@TempDir Path dir) throws IOException {
        Path odd = Files.writeString(dir.resolve("my text (1).txt"), "Some words.\n");
        TextSources one = TextSources.parse(List.of(odd.toString()), TextSources.Purpose.EVALUATION);
        assertFalse(one.labelled());
        assertEquals("Some words.\n", one.single().text());
        // as a per-language label it names a logits file, so it must be a plain name
        assertThrows(IllegalArgumentException.class, () -> TextSources.parse(List.of(odd.toString(), "builtin:en"),
                TextSources.Purpose.EVALUATION));
    }
}
