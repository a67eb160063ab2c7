package io.falconq.it;

import io.falconq.runtime.FalconH1Forward;
import io.falconq.runtime.FalconH1Model;
import io.falconq.runtime.InferenceState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The two execution modes agree, and the thread count changes nothing.
 *
 * <p>Window mode (one matrix–matrix product per layer over all tokens) and token-by-token mode (KV cache, conv and
 * SSM states, matrix–vector products) sum in different orders, so they agree to float rounding: within
 * {@link TinyModelGoldenIT#LOGIT_REL_TOL} of each position's logit range (measured ≈ 5e-7). Splitting a prompt into
 * a window followed by single tokens must agree the same way. Work is cut into thread-independent tasks, so 1 and 2
 * threads (and 3) must give bit-identical logits in both modes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RuntimeDeterminismIT {
    private FalconH1Model model;
    private int[] ids;

    @BeforeAll
    void load() {
        model = FalconH1Model.load(CliRun.shared("models/falcon-h1-tiny"));
        ids = GoldenData.prompts().get(2).ids(); // 93 tokens, no BOS
    }

    @AfterAll
    void close() {
        model.close();
    }

    private void assertClose(float[] expected, float[] actual, String what) {
        GoldenChecks.assertPositionsClose(expected, actual, model.config().vocabSize(), what);
    }

    @Test
    void tokenByTokenModeMatchesWindowMode() {
        try (FalconH1Forward f = new FalconH1Forward(model, 2)) {
            float[] window = GoldenChecks.windowLogits(f, ids);
            assertClose(window, GoldenChecks.tokenByTokenLogits(f, ids), "token-by-token vs window");
        }
    }

    @Test
    void windowThenTokensMatchesOneWindow() {
        int v = model.config().vocabSize();
        try (FalconH1Forward f = new FalconH1Forward(model, 2)) {
            float[] window = GoldenChecks.windowLogits(f, ids);
            int split = 40;
            InferenceState st = f.newState(ids.length);
            float[] mixed = new float[ids.length * v];
            System.arraycopy(f.forward(st, ids, 0, split, 0, null), 0, mixed, 0, split * v);
            for (int t = split; t < ids.length; t++) {
                System.arraycopy(f.forwardToken(st, ids[t]), 0, mixed, t * v, v);
            }
            assertClose(window, mixed, "window of 40 then single tokens vs one window");
        }
    }

    @Test
    void oneTwoAndThreeThreadsGiveBitIdenticalLogits() {
        float[][] window = new float[3][];
        float[][] tokens = new float[3][];
        for (int threads = 1; threads <= 3; threads++) {
            try (FalconH1Forward f = new FalconH1Forward(model, threads)) {
                window[threads - 1] = GoldenChecks.windowLogits(f, ids);
                tokens[threads - 1] = GoldenChecks.tokenByTokenLogits(f, Arrays.copyOf(ids, 20));
            }
        }
        for (int i = 1; i < 3; i++) {
            assertArrayEquals(window[0], window[i], "window mode, " + (i + 1) + " threads vs 1");
            assertArrayEquals(tokens[0], tokens[i], "token mode, " + (i + 1) + " threads vs 1");
        }
    }

    /**
     * The scalar reference kernels ({@code -Dfalconq.vector=false}, read once per JVM, hence a child JVM) through the
     * whole CLI: the first 128-token window of valid.txt must give the vector path's perplexity to float rounding (the two
     * paths sum in different orders; 1e-5 relative on a mean NLL of ~4 is ~2000× the float32 rounding of the sums
     * involved, and any kernel bug moves it by far more).
     */
    @Test
    void scalarKernelsGiveTheVectorPathsPerplexity() throws Exception {
        Object[] args = {"eval", CliRun.shared("models/falcon-h1-tiny"), "--data", CliRun.shared("corpus/valid.txt"),
                "--ctx", 128, "--chunks", 1, "--json", "-q", "-t", 2};
        CliRun vector = CliRun.of(args);
        assertEquals(0, vector.exitCode(), vector.describe());
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Dfalconq.vector=false",
                "-cp", System.getProperty("java.class.path"), "io.falconq.cli.FalconqCli"));
        for (Object a : args) {
            cmd.add(String.valueOf(a));
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "scalar run failed: " + out);
        double scalarPpl = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out).get("ppl").asDouble();
        double vectorPpl = vector.json().get("ppl").asDouble();
        assertEquals(vectorPpl, scalarPpl, 1e-5 * vectorPpl, "scalar vs vector kernels");
        System.out.printf("RuntimeDeterminismIT: window 1 ppl, vector %.8f, scalar %.8f%n", vectorPpl, scalarPpl);
    }

    @Test
    void repeatedRunsAreBitIdentical() {
        // the first run executes partly in the interpreter and C1, later ones in C2: no kernel may depend on that
        try (FalconH1Forward f = new FalconH1Forward(model, 2)) {
            float[] first = GoldenChecks.windowLogits(f, ids);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(first, GoldenChecks.windowLogits(f, ids), "run " + (i + 2) + " vs run 1");
            }
        }
    }
}
