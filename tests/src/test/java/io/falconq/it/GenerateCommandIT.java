package io.falconq.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code falconq generate} on the tiny model. */
class GenerateCommandIT {

    private static Set<String> corpusWords() throws IOException {
        return Arrays.stream(Files.readString(CliRun.shared("corpus/train.txt")).split("[^A-Za-z]+"))
                .filter(w -> !w.isEmpty()).map(String::toLowerCase).collect(Collectors.toSet());
    }

    @Test
    void greedyGenerationIsCorpusStyleTextAndIndependentOfThreads() throws IOException {
        String prompt = "In the beginning";
        CliRun two = CliRun.of("generate", CliRun.shared("models/falcon-h1-tiny"), "--prompt", prompt, "-n", 40, "-t", 2);
        assertEquals(0, two.exitCode(), two.describe());
        CliRun one = CliRun.of("generate", CliRun.shared("models/falcon-h1-tiny"), "--prompt", prompt, "-n", 40, "-t", 1);
        assertEquals(two.out(), one.out(), "greedy output must not depend on the thread count");
        assertTrue(two.out().startsWith(prompt), two.out());
        String generated = two.out().substring(prompt.length());
        String[] words = Arrays.stream(generated.split("[^A-Za-z]+")).filter(w -> !w.isEmpty()).toArray(String[]::new);
        assertTrue(words.length >= 15, "40 tokens of text should hold at least 15 words: " + generated);
        // "fluent-looking corpus-style text": the words are the corpus's words, not fragments
        Set<String> vocabulary = corpusWords();
        long known = Arrays.stream(words).filter(w -> vocabulary.contains(w.toLowerCase())).count();
        assertTrue(known >= 0.9 * words.length, known + " of " + words.length + " words are corpus words: " + generated);
        System.out.println("GenerateCommandIT: " + two.out().strip().replace('\n', '⏎'));
    }

    @Test
    void samplingIsReproducibleBySeed() {
        Object[] args = {"generate", CliRun.shared("models/falcon-h1-tiny"), "--prompt", "And God said", "-n", 20,
                "--temperature", 0.8, "--top-p", 0.95, "--seed", 7, "-q"};
        CliRun a = CliRun.of(args);
        CliRun b = CliRun.of(args);
        assertEquals(0, a.exitCode(), a.describe());
        assertEquals(a.out(), b.out());
        args[args.length - 2] = 8;
        CliRun c = CliRun.of(args);
        assertNotEquals(a.out(), c.out(), "another seed should give another continuation");
    }

    @Test
    void chatTemplateIsApplied() {
        CliRun chat = CliRun.of("generate", CliRun.shared("models/falcon-h1-tiny"), "--prompt", "Who made the heaven?",
                "--chat", "-n", 10, "-q");
        assertEquals(0, chat.exitCode(), chat.describe());
        assertTrue(!chat.out().contains("Who made the heaven?"), "with --chat the prompt is not echoed: " + chat.out());
    }
}
