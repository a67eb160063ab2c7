package io.falconq.it;

import io.falconq.cli.ExitCodes;
import io.falconq.formats.imatrix.ImatrixEntry;
import io.falconq.formats.imatrix.ImatrixWriter;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.falconq.it.HostileFixture.F32_GGUF;
import static io.falconq.it.HostileFixture.IMATRIX;
import static io.falconq.it.HostileFixture.Q4_GGUF;
import static io.falconq.it.HostileFixture.TINY;
import static io.falconq.it.HostileFixture.TINY_SHARDED;
import static io.falconq.it.HostileFixture.VALID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 19: every command on hostile or unlucky inputs and flags, in process. Each case builds its inputs in a fresh
 * folder ({@link HostileFixture}) and asserts the exit code (never 1), one {@code error:} line and no stack trace on
 * failure, that nothing changed but the fresh output {@code out/result…} (inputs, links' targets and unrelated files
 * byte-identical; on failure not even that), and that it ended within 30 s (FIFO cases would block forever if a
 * reader opened them). Signals are in {@link InterruptedRunIT}.
 */
class HostileInputIT {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final long DEAD_PID = 4_194_304L * 2; // above Linux's pid_max: never a live process
    /**
     * {@code -Dfalconq.hostile.forked=true}: every case in a JVM of its own with the launcher's flags, its peak
     * resident memory measured by GNU time, asserted ≤ 1 GiB and listed in {@code target/hostile-resources.tsv}
     * (the resource bound; about 4× slower than in process, so CI runs the cases in process).
     */
    private static final boolean FORKED = Boolean.getBoolean("falconq.hostile.forked");
    private static final long MAX_RSS_KB = 1L << 20;

    @FunctionalInterface
    interface Setup {
        Object[] args(HostileFixture fx) throws IOException;
    }

    record Case(String name, int exit, Setup setup) {
        @Override
        public String toString() {
            return name + " -> " + exit;
        }
    }

    private static Case c(String name, int exit, Setup setup) {
        return new Case(name, exit, setup);
    }

    private static Object[] a(Object... args) {
        return args;
    }

    static List<Case> cases() {
        List<Case> all = new ArrayList<>();
        all.addAll(outputSafety());
        all.addAll(huggingFaceCache());
        all.addAll(configMeaning());
        all.addAll(specialFiles());
        all.addAll(flags());
        all.addAll(ggufAndImatrix());
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void hostileCase(Case k, @TempDir Path tmp) throws IOException {
        HostileFixture fx = new HostileFixture(tmp);
        Object[] args = k.setup().args(fx);
        Map<String, String> before = fx.snapshot();
        long t0 = System.nanoTime();
        long[] maxRssKb = {-1};
        CliRun r = assertTimeoutPreemptively(LIMIT, () -> FORKED ? CliRun.forked(maxRssKb, args) : CliRun.of(args),
                () -> k + " ran over " + LIMIT);
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (FORKED) {
            recordResources(k, r.exitCode(), seconds, maxRssKb[0]);
            assertTrue(maxRssKb[0] > 0 && maxRssKb[0] <= MAX_RSS_KB, () -> k + ": peak RSS " + maxRssKb[0] + " kB");
        }
        assertNotEquals(ExitCodes.INTERNAL, r.exitCode(), r.describe());
        assertEquals(k.exit(), r.exitCode(), () -> k + " (" + seconds + " s)\n" + r.describe());
        assertFalse(r.err().contains("\tat ") || r.err().contains("internal error"), r.describe());
        if (k.exit() != ExitCodes.OK) {
            long errorLines = r.err().lines().filter(l -> l.startsWith("error: ")).count();
            assertEquals(1, errorLines, () -> "one error line\n" + r.describe());
        }
        assertOnlyResultChanged(fx, before, fx.snapshot(), k.exit() == ExitCodes.OK);
    }

    private static synchronized void recordResources(Case k, int exit, double seconds, long maxRssKb)
            throws IOException {
        Path tsv = Path.of("target", "hostile-resources.tsv");
        if (!Files.exists(tsv)) {
            Files.writeString(tsv, "case\texit\tseconds\tmax_rss_kb\n");
        }
        Files.writeString(tsv, String.format(java.util.Locale.ROOT, "%s\t%d\t%.2f\t%d%n", k.name(), exit, seconds,
                maxRssKb), java.nio.file.StandardOpenOption.APPEND);
    }

    /** Only {@code out/result…} may appear or change (on success); only its stale partials may disappear. */
    private static void assertOnlyResultChanged(HostileFixture fx, Map<String, String> before, Map<String, String> after,
                                                boolean success) {
        Map<String, String> changed = new TreeMap<>();
        for (var e : before.entrySet()) {
            if (!e.getValue().equals(after.get(e.getKey()))) {
                changed.put(e.getKey(), e.getValue() + " -> " + after.get(e.getKey()));
            }
        }
        after.forEach((k, v) -> {
            if (!before.containsKey(k)) {
                changed.put(k, "new " + v);
            }
        });
        String result = fx.root.relativize(fx.result("")).toString();
        changed.keySet().removeIf(k -> (success && k.startsWith(result))
                || (k.startsWith(result) && k.contains(".partial-") && !after.containsKey(k)));
        assertEquals(Map.of(), changed, "nothing else written, changed or removed");
        assertTrue(after.keySet().stream().noneMatch(k -> k.contains(".partial-") && !before.containsKey(k)),
                "no partial output left: " + after.keySet());
    }

    // ---- output safety: exit 4, nothing touched -----------------------------------------------------------

    private static List<Case> outputSafety() {
        return List.of(
                c("convert --force -o MODEL/model.safetensors (the input)", 4, fx -> a("convert", fx.model(), "--type", "Q8_0", "--force", "-o", fx.model("m2", TINY).resolve("../model/model.safetensors"))),
                c("convert -o inside the input folder", 4, fx -> a("convert", fx.model(), "--type", "Q8_0", "-o", fx.in.resolve("model/x.gguf"))),
                c("convert FILE --force -o FILE", 4, fx -> { Path m = fx.model(); return a("convert", m.resolve("model.safetensors"), "--type", "Q8_0", "--force", "-o", m.resolve("model.safetensors")); }),
                c("convert --force -o a folder containing the input", 4, fx -> a("convert", fx.model(), "--type", "Q8_0", "--force", "-o", fx.in)),
                c("requantize --force -o IN.gguf", 4, fx -> { Path g = fx.copy(F32_GGUF, "f32.gguf"); return a("requantize", g, "--type", "Q8_0", "--force", "-o", g); }),
                c("requantize via a link --force -o its target", 4, fx -> { Path g = fx.copy(F32_GGUF, "f32.gguf"); Path l = Files.createSymbolicLink(fx.in.resolve("l.gguf"), g); return a("requantize", l, "--type", "Q8_0", "--force", "-o", g); }),
                c("quantize -o MODEL", 4, fx -> { Path m = fx.model(); return a("quantize", m, "--scheme", "w8", "-o", m); }),
                c("quantize --force -o MODEL", 4, fx -> { Path m = fx.model(); return a("quantize", m, "--scheme", "w8", "--force", "-o", m); }),
                c("quantize --force -o the folder containing MODEL", 4, fx -> a("quantize", fx.model(), "--scheme", "w8", "--force", "-o", fx.in)),
                c("quantize -o MODEL/sub", 4, fx -> { Path m = fx.model(); return a("quantize", m, "--scheme", "w8", "-o", m.resolve("sub")); }),
                c("quantize --force -o a link to a folder", 4, fx -> { Path d = Files.createDirectories(fx.in.resolve("d")); Files.writeString(d.resolve(".falconq-output"), "x"); return a("quantize", fx.model(), "--scheme", "w8", "--force", "-o", Files.createSymbolicLink(fx.out.resolve("link"), d)); }),
                c("synth --force onto a folder falconq did not write", 4, fx -> { Path d = fx.file(fx.in.resolve("mine/notes.txt"), "precious").getParent(); return a("synth", "--config", TINY.resolve("config.json"), "--force", "-o", d); }),
                c("synth --force onto a regular file", 4, fx -> a("synth", "--config", TINY.resolve("config.json"), "--force", "-o", fx.file(fx.out.resolve("plain"), "x"))),
                c("synth --force -o /dev/null", 4, fx -> a("synth", "--config", TINY.resolve("config.json"), "--force", "-o", "/dev/null")),
                c("synth --force onto the model folder", 4, fx -> a("synth", "--config", TINY.resolve("config.json"), "--force", "-o", fx.model())),
                c("eval --save-logits onto the weights", 4, fx -> { Path m = fx.model(); return a("eval", m, "--data", VALID, "--ctx", "32", "--chunks", "1", "--force", "--save-logits", m.resolve("model.safetensors")); }),
                c("eval --save-logits onto --data", 4, fx -> { Path t = fx.file(fx.in.resolve("text.txt"), "Hello there, general Kenobi."); return a("eval", TINY, "--data", t, "--force", "--save-logits", t); }),
                c("eval --save-logits /dev/null --force", 4, fx -> a("eval", TINY, "--data", VALID, "--force", "--save-logits", "/dev/null")),
                c("calibrate --force -o MODEL/config.json", 4, fx -> { Path m = fx.model(); return a("calibrate", m, "--data", "builtin:en", "--force", "-o", m.resolve("config.json")); }),
                c("calibrate --in-file X --force -o X", 4, fx -> { Path im = fx.copy(IMATRIX, "im.gguf"); return a("calibrate", TINY, "--data", "builtin:en", "--in-file", im, "--force", "-o", im); }),
                c("calibrate --force -o /dev/null", 4, fx -> a("calibrate", TINY, "--data", "builtin:en", "--force", "-o", "/dev/null")),
                c("pipeline -o inside --model", 4, fx -> { Path m = fx.model(); return a("pipeline", "--model", m, "--variants", "Q8_0", "--eval-data", VALID, "-o", m.resolve("dist")); }),
                c("pipeline -o the folder containing --model", 4, fx -> a("pipeline", "--model", fx.model(), "--variants", "Q8_0", "--eval-data", VALID, "-o", fx.in)),
                c("convert --force -o /dev/null", 4, fx -> a("convert", TINY, "--type", "Q8_0", "--force", "-o", "/dev/null")),
                c("convert -o /dev/null", 4, fx -> a("convert", TINY, "--type", "Q8_0", "-o", "/dev/null")),
                c("convert --force -o a FIFO", 4, fx -> a("convert", TINY, "--type", "Q8_0", "--force", "-o", HostileFixture.fifo(fx.out.resolve("fifo")))),
                c("convert --force -o a link to a file", 4, fx -> a("convert", TINY, "--type", "Q8_0", "--force", "-o", Files.createSymbolicLink(fx.out.resolve("link"), fx.file(fx.in.resolve("victim"), "victim")))),
                c("convert --force -o a dangling link", 4, fx -> a("convert", TINY, "--type", "Q8_0", "--force", "-o", Files.createSymbolicLink(fx.out.resolve("link"), fx.in.resolve("nothing-yet")))),
                c("convert --force -o an existing folder", 4, fx -> a("convert", TINY, "--type", "Q8_0", "--force", "-o", Files.createDirectories(fx.out.resolve("dir")))),
                c("convert -o into a missing folder", 4, fx -> a("convert", TINY, "--type", "Q8_0", "-o", fx.out.resolve("missing/x.gguf"))),
                c("convert -o an existing file without --force", 4, fx -> a("convert", TINY, "--type", "Q8_0", "-o", fx.file(fx.out.resolve("existing.gguf"), "x"))),
                c("requantize --force -o a link", 4, fx -> a("requantize", F32_GGUF, "--type", "Q8_0", "--force", "-o", Files.createSymbolicLink(fx.out.resolve("link"), fx.file(fx.in.resolve("victim"), "victim")))),
                // succeeds, but a planted link at the temporary name is removed, never followed
                c("convert with a link planted at <out>.partial-<pid>", 0, fx -> {
                    Path victim = fx.file(fx.in.resolve("victim"), "victim");
                    Files.createSymbolicLink(fx.out.resolve("result.gguf.partial-" + ProcessHandle.current().pid()), victim);
                    return a("convert", TINY, "--type", "Q8_0", "-o", fx.result(".gguf"));
                }),
                c("convert removes a dead process's partial file", 0, fx -> {
                    fx.file(fx.out.resolve("result.gguf.partial-" + DEAD_PID), "stale");
                    return a("convert", TINY, "--type", "Q8_0", "-o", fx.result(".gguf"));
                }),
                c("synth removes a dead process's partial folder", 0, fx -> {
                    fx.file(fx.out.resolve("result.partial-" + DEAD_PID + "/model.safetensors"), "stale");
                    return a("synth", "--config", TINY.resolve("config.json"), "-o", fx.result(""));
                }),
                c("synth --force replaces a folder falconq wrote", 0, fx -> {
                    CliRun first = CliRun.of("synth", "--config", TINY.resolve("config.json"), "-o", fx.result(""));
                    assertEquals(0, first.exitCode(), first.describe());
                    return a("synth", "--config", TINY.resolve("config.json"), "--seed", "7", "--force", "-o", fx.result(""));
                }));
    }

    // ---- the Hugging Face cache layout loads everywhere; traversal stays refused -------------------------

    private static List<Case> huggingFaceCache() {
        return List.of(
                c("cache: inspect", 0, fx -> a("inspect", fx.cache(TINY))),
                c("cache: inspect sharded", 0, fx -> a("inspect", fx.cache(TINY_SHARDED))),
                c("cache: convert", 0, fx -> a("convert", fx.cache(TINY), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("cache: convert sharded", 0, fx -> a("convert", fx.cache(TINY_SHARDED), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("cache: eval", 0, fx -> a("eval", fx.cache(TINY), "--data", VALID, "--ctx", "32", "--chunks", "1")),
                c("cache: generate", 0, fx -> a("generate", fx.cache(TINY), "-p", "In the beginning", "-n", "2")),
                c("cache: calibrate", 0, fx -> a("calibrate", fx.cache(TINY), "--data", "builtin:en", "--ctx", "32", "--chunks", "1", "-o", fx.result(".imatrix"))),
                c("cache: quantize rtn", 0, fx -> a("quantize", fx.cache(TINY), "--scheme", "w8", "-o", fx.result(""))),
                c("cache: pipeline --dry-run", 0, fx -> a("pipeline", "--model", fx.cache(TINY), "--variants", "Q8_0", "--eval-data", VALID, "--dry-run", "-o", fx.result(""))),
                c("cache: synth with its config and tokenizer", 0, fx -> { Path s = fx.cache(TINY); return a("synth", "--config", s.resolve("config.json"), "--tokenizer", s, "-o", fx.result("")); }),
                c("cache: bench a linked GGUF", 0, fx -> a("bench", fx.cache(Q4_GGUF).resolve(Q4_GGUF.getFileName()), "--tokens", "4", "--repeat", "1")),
                c("cache: eval a linked GGUF", 0, fx -> a("eval", fx.cache(Q4_GGUF).resolve(Q4_GGUF.getFileName()), "--data", VALID, "--ctx", "32", "--chunks", "1")),
                c("cache: index naming ../../blobs/<hash> is traversal", 3, fx -> {
                    Path s = fx.cache(TINY_SHARDED);
                    String shard = "model-00001-of-00002.safetensors";
                    Path blob = Files.readSymbolicLink(s.resolve(shard));
                    Path index = s.resolve("model.safetensors.index.json");
                    String json = Files.readString(index).replace("\"" + shard + "\"", "\"" + blob + "\"");
                    Files.delete(index);
                    Files.writeString(index, json);
                    return a("inspect", s);
                }),
                c("index naming ../<shard> is traversal", 3, fx -> {
                    Path m = fx.model("sharded", TINY_SHARDED);
                    Path index = m.resolve("model.safetensors.index.json");
                    Files.writeString(index, Files.readString(index).replace("\"model-00001", "\"../sharded/model-00001"));
                    return a("convert", m, "--type", "Q8_0", "-o", fx.result(".gguf"));
                }),
                c("cache: a snapshot link to a folder", 3, fx -> {
                    Path s = fx.cache(TINY);
                    Files.delete(s.resolve("model.safetensors"));
                    Files.createSymbolicLink(s.resolve("model.safetensors"), Path.of("..", "..", "blobs"));
                    return a("inspect", s);
                }));
    }

    // ---- config values: finite, positive, within the caps; exit 3 naming the key --------------------------

    private static List<Case> configMeaning() {
        List<Case> cases = new ArrayList<>();
        Object[][] bad = {
                {"embedding_multiplier", 1e308}, {"lm_head_multiplier", -1e9}, {"attention_out_multiplier", 1e300},
                {"hidden_size", 2147483647}, {"hidden_size", 0}, {"num_hidden_layers", 2000000000},
                {"num_hidden_layers", -1}, {"num_attention_heads", 1 << 30}, {"num_key_value_heads", 0},
                {"intermediate_size", 2000000000}, {"vocab_size", 1000000000000L}, {"vocab_size", 2147483647},
                {"head_dim", 1000000}, {"mamba_d_ssm", 2147483647}, {"mamba_n_heads", 1 << 20},
                {"mamba_d_state", 1000000}, {"mamba_d_conv", 100000}, {"mamba_chunk_size", 1 << 30},
                {"max_position_embeddings", 2147483647}, {"rms_norm_eps", 10.0}, {"rope_theta", 1e300},
                {"rms_norm_eps", -1.0}, {"hidden_size", 1.5}, {"model_type", "llama"}};
        for (Object[] kv : bad) {
            String key = (String) kv[0];
            Object value = kv[1];
            cases.add(c("inspect --config " + key + "=" + value, 3, fx -> a("inspect", "--config",
                    fx.config(cfg -> cfg.putPOJO(key, value)))));
        }
        cases.add(c("inspect --config mamba_expand huge without mamba_d_ssm", 3, fx -> a("inspect", "--config",
                fx.config(cfg -> { cfg.remove("mamba_d_ssm"); cfg.remove("mamba_d_head"); cfg.put("mamba_expand", 16).put("hidden_size", 65536); }))));
        cases.add(c("inspect --config ssm_multipliers with 1e308", 3, fx -> a("inspect", "--config",
                fx.config(cfg -> cfg.putArray("ssm_multipliers").add(1e308).add(1).add(1).add(1).add(1)))));
        cases.add(c("inspect --config a JSON array", 3, fx -> a("inspect", "--config", fx.file(fx.in.resolve("config.json"), "[1, 2]"))));
        cases.add(c("convert embedding_multiplier=1e308", 3, fx -> a("convert", fx.modelWithConfig(cfg -> cfg.put("embedding_multiplier", 1e308)), "--type", "Q8_0", "-o", fx.result(".gguf"))));
        cases.add(c("convert hidden_size huge", 3, fx -> a("convert", fx.modelWithConfig(cfg -> cfg.put("hidden_size", 2147483647)), "--type", "Q8_0", "-o", fx.result(".gguf"))));
        cases.add(c("quantize embedding_multiplier=1e308", 3, fx -> a("quantize", fx.modelWithConfig(cfg -> cfg.put("embedding_multiplier", 1e308)), "--scheme", "w8", "-o", fx.result(""))));
        cases.add(c("eval vocab_size huge", 3, fx -> a("eval", fx.modelWithConfig(cfg -> cfg.put("vocab_size", 2147483647)), "--data", VALID)));
        cases.add(c("generate num_hidden_layers huge", 3, fx -> a("generate", fx.modelWithConfig(cfg -> cfg.put("num_hidden_layers", 2000000000)), "-p", "hi", "-n", "1")));
        cases.add(c("calibrate rope_theta=1e300", 3, fx -> a("calibrate", fx.modelWithConfig(cfg -> cfg.put("rope_theta", 1e300)), "--data", "builtin:en", "-o", fx.result(".imatrix"))));
        for (String tensor : List.of("model.layers.0.mamba.A_log", "model.layers.1.input_layernorm.weight",
                "model.layers.0.mamba.conv1d.weight", "model.embed_tokens.weight")) {
            cases.add(c("convert with Inf in " + tensor, 3, fx -> a("convert", fx.modelWithInf(tensor), "--type", "Q8_0", "-o", fx.result(".gguf"))));
            cases.add(c("quantize rtn with Inf in " + tensor, 3, fx -> a("quantize", fx.modelWithInf(tensor), "--scheme", "w8", "-o", fx.result(""))));
        }
        cases.add(c("synth --config with huge dimensions", 3, fx -> a("synth", "--config", fx.config(cfg -> cfg.put("hidden_size", 1 << 30)), "-o", fx.result(""))));
        cases.add(c("pipeline --dry-run --config with 2e9 layers", 3, fx -> a("pipeline", "--config", fx.config(cfg -> cfg.put("num_hidden_layers", 2000000000)), "--variants", "Q8_0", "--dry-run", "-o", fx.result(""))));
        return cases;
    }

    // ---- only regular files are read: FIFOs, devices, folders are exit 3 at once ----------------------------

    private static List<Case> specialFiles() {
        Path zero = Path.of("/dev/zero");
        return List.of(
                c("inspect a FIFO .safetensors", 3, fx -> a("inspect", fx.fifo("model.safetensors"))),
                c("inspect a FIFO .gguf", 3, fx -> a("inspect", fx.fifo("model.gguf"))),
                c("inspect a folder named .gguf", 3, fx -> a("inspect", Files.createDirectories(fx.in.resolve("x.gguf")))),
                c("inspect /dev/zero", 3, fx -> a("inspect", zero)),
                c("inspect a model whose weights are a FIFO", 3, fx -> a("inspect", fx.modelWithFifo("model.safetensors"))),
                c("inspect a model whose config.json is a FIFO", 3, fx -> a("inspect", fx.modelWithFifo("config.json"))),
                c("inspect a model whose config.json is /dev/zero", 3, fx -> a("inspect", fx.modelWithLink("config.json", zero))),
                c("inspect --config /dev/zero", 3, fx -> a("inspect", "--config", zero)),
                c("inspect --config a FIFO", 3, fx -> a("inspect", "--config", fx.fifo("config.json"))),
                c("inspect --config a folder", 3, fx -> a("inspect", "--config", fx.in)),
                c("inspect a sharded model whose index is a FIFO", 3, fx -> {
                    Path m = fx.model("sharded", TINY_SHARDED);
                    Files.delete(m.resolve("model.safetensors.index.json"));
                    HostileFixture.fifo(m.resolve("model.safetensors.index.json"));
                    return a("inspect", m);
                }),
                c("inspect a sharded model with a FIFO shard", 3, fx -> {
                    Path m = fx.model("sharded", TINY_SHARDED);
                    Files.delete(m.resolve("model-00002-of-00002.safetensors"));
                    HostileFixture.fifo(m.resolve("model-00002-of-00002.safetensors"));
                    return a("inspect", m);
                }),
                c("convert a model whose weights are a FIFO", 3, fx -> a("convert", fx.modelWithFifo("model.safetensors"), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("convert a model whose weights are a folder", 3, fx -> {
                    Path m = fx.model();
                    Files.delete(m.resolve("model.safetensors"));
                    Files.createDirectories(m.resolve("model.safetensors"));
                    return a("convert", m, "--type", "Q8_0", "-o", fx.result(".gguf"));
                }),
                c("convert --imatrix a FIFO", 3, fx -> a("convert", TINY, "--type", "Q4_K_M", "--imatrix", fx.fifo("im.gguf"), "-o", fx.result(".gguf"))),
                c("convert with tokenizer.json a FIFO", 3, fx -> a("convert", fx.modelWithFifo("tokenizer.json"), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("eval with tokenizer.json a FIFO", 3, fx -> a("eval", fx.modelWithFifo("tokenizer.json"), "--data", VALID)),
                c("eval with tokenizer.json /dev/zero", 3, fx -> a("eval", fx.modelWithLink("tokenizer.json", zero), "--data", VALID)),
                c("eval with tokenizer_config.json a FIFO", 3, fx -> a("eval", fx.modelWithFifo("tokenizer_config.json"), "--data", VALID)),
                c("eval --data a FIFO", 3, fx -> a("eval", TINY, "--data", fx.fifo("text.txt"))),
                c("eval --data /dev/zero", 3, fx -> a("eval", TINY, "--data", zero)),
                c("eval --data a folder", 3, fx -> a("eval", TINY, "--data", fx.in)),
                c("eval --baseline a FIFO", 3, fx -> a("eval", TINY, "--baseline", fx.fifo("base.logits"))),
                c("eval --tokenizer a folder with a FIFO", 3, fx -> a("eval", Q4_GGUF, "--data", VALID, "--tokenizer", fx.modelWithFifo("tokenizer.json"))),
                c("eval a FIFO .gguf", 3, fx -> a("eval", fx.fifo("m.gguf"), "--data", VALID)),
                c("generate with tokenizer.json a FIFO", 3, fx -> a("generate", fx.modelWithFifo("tokenizer.json"), "-p", "hi", "-n", "1")),
                c("generate --tokenizer with /dev/zero", 3, fx -> a("generate", Q4_GGUF, "-p", "hi", "-n", "1", "--tokenizer", fx.modelWithLink("tokenizer.json", zero))),
                c("calibrate with tokenizer.json a FIFO", 3, fx -> a("calibrate", fx.modelWithFifo("tokenizer.json"), "--data", "builtin:en", "-o", fx.result(".imatrix"))),
                c("calibrate --data a FIFO", 3, fx -> a("calibrate", TINY, "--data", fx.fifo("t.txt"), "-o", fx.result(".imatrix"))),
                c("calibrate --in-file /dev/zero", 3, fx -> a("calibrate", TINY, "--data", "builtin:en", "--in-file", zero, "-o", fx.result(".imatrix"))),
                c("quantize a model whose weights are a FIFO", 3, fx -> a("quantize", fx.modelWithFifo("model.safetensors"), "--scheme", "w8", "-o", fx.result(""))),
                c("requantize a FIFO", 3, fx -> a("requantize", fx.fifo("in.gguf"), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("bench a FIFO", 3, fx -> a("bench", fx.fifo("in.gguf"))),
                c("bench /dev/zero", 3, fx -> a("bench", zero)),
                c("synth --config a FIFO", 3, fx -> a("synth", "--config", fx.fifo("config.json"), "-o", fx.result(""))),
                c("synth --tokenizer with a FIFO tokenizer.json", 3, fx -> a("synth", "--config", TINY.resolve("config.json"), "--tokenizer", fx.modelWithFifo("tokenizer.json"), "-o", fx.result(""))),
                c("pipeline --variants-file a FIFO", 3, fx -> a("pipeline", "--model", TINY, "--variants-file", fx.fifo("v.txt"), "--dry-run", "-o", fx.result(""))),
                c("pipeline --eval-data /dev/zero", 3, fx -> a("pipeline", "--model", TINY, "--variants", "Q8_0", "--eval-data", zero, "-o", fx.result(""))),
                c("report with report.json a FIFO", 3, fx -> { Path d = Files.createDirectories(fx.out.resolve("dist")); HostileFixture.fifo(d.resolve("report.json")); return a("report", d); }),
                c("report with report.json /dev/zero", 3, fx -> { Path d = Files.createDirectories(fx.out.resolve("dist")); Files.createSymbolicLink(d.resolve("report.json"), zero); return a("report", d); }),
                c("report with report.json a folder", 3, fx -> { Path d = Files.createDirectories(fx.out.resolve("dist/report.json")).getParent(); return a("report", d); }),
                c("report of a FIFO", 3, fx -> a("report", fx.fifo("dist"))));
    }

    // ---- flags in range: exit 2 before any work --------------------------------------------------------------

    private static List<Case> flags() {
        return List.of(
                c("convert -t 2147483647", 2, fx -> a("convert", TINY, "--type", "Q8_0", "-t", "2147483647", "-o", fx.result(".gguf"))),
                c("convert -t 10000", 2, fx -> a("convert", TINY, "--type", "Q8_0", "-t", "10000", "-o", fx.result(".gguf"))),
                c("requantize -t -1", 2, fx -> a("requantize", F32_GGUF, "--type", "Q8_0", "-t", "-1", "-o", fx.result(".gguf"))),
                c("quantize -t 0", 2, fx -> a("quantize", TINY, "--scheme", "w8", "-t", "0", "-o", fx.result(""))),
                c("eval -t 10000", 2, fx -> a("eval", TINY, "--data", VALID, "-t", "10000")),
                c("eval -t abc", 2, fx -> a("eval", TINY, "--data", VALID, "-t", "abc")),
                c("eval --ctx 2147483647", 2, fx -> a("eval", TINY, "--data", VALID, "--ctx", "2147483647")),
                c("eval --ctx 200000 (over the heap)", 2, fx -> a("eval", TINY, "--data", VALID, "--ctx", "200000")),
                c("eval --chunks 0", 2, fx -> a("eval", TINY, "--data", VALID, "--chunks", "0")),
                c("bench --tokens 2147483647", 2, fx -> a("bench", Q4_GGUF, "--tokens", "2147483647")),
                c("bench --tokens 200000 (over the heap)", 2, fx -> a("bench", Q4_GGUF, "--tokens", "200000")),
                c("bench --repeat 0", 2, fx -> a("bench", Q4_GGUF, "--repeat", "0")),
                c("generate -n 2147483647", 2, fx -> a("generate", TINY, "-p", "hi", "-n", "2147483647")),
                c("generate -t 10000", 2, fx -> a("generate", TINY, "-p", "hi", "-t", "10000")),
                c("calibrate --ctx 2147483647", 2, fx -> a("calibrate", TINY, "--data", "builtin:en", "--ctx", "2147483647", "-o", fx.result(".imatrix"))),
                c("calibrate --chunks -5", 2, fx -> a("calibrate", TINY, "--data", "builtin:en", "--chunks", "-5", "-o", fx.result(".imatrix"))),
                c("synth -t 99999", 2, fx -> a("synth", "--config", TINY.resolve("config.json"), "-t", "99999", "-o", fx.result(""))),
                c("pipeline --ctx 2147483647 --dry-run", 2, fx -> a("pipeline", "--model", TINY, "--variants", "Q8_0", "--ctx", "2147483647", "--dry-run", "-o", fx.result(""))),
                c("pipeline --calib-ctx 1 --dry-run", 2, fx -> a("pipeline", "--model", TINY, "--variants", "Q8_0", "--calib-ctx", "1", "--dry-run", "-o", fx.result(""))),
                c("pipeline -t 100000 --dry-run", 2, fx -> a("pipeline", "--model", TINY, "--variants", "Q8_0", "-t", "100000", "--dry-run", "-o", fx.result(""))));
    }

    // ---- GGUF inputs must be whole Falcon-H1 files; an imatrix must belong to the model -----------------------

    private static List<Case> ggufAndImatrix() {
        return List.of(
                c("convert --imatrix of another model (no name matches)", 3, fx -> a("convert", TINY, "--type", "Q4_K_M", "--imatrix", imatrix(fx, "blk.0.not_falcon.weight", 1f), "-o", fx.result(".gguf"))),
                c("convert --imatrix with negative sums", 3, fx -> a("convert", TINY, "--type", "Q4_K_M", "--imatrix", imatrix(fx, "blk.0.attn_q.weight", -1f), "-o", fx.result(".gguf"))),
                c("requantize --imatrix of another model", 3, fx -> a("requantize", F32_GGUF, "--type", "Q4_K_M", "--imatrix", imatrix(fx, "model.layers.0.mlp.weight", 1f), "-o", fx.result(".gguf"))),
                c("requantize --imatrix with negative sums", 3, fx -> a("requantize", F32_GGUF, "--type", "Q4_K_M", "--imatrix", imatrix(fx, "blk.0.attn_q.weight", -1f), "-o", fx.result(".gguf"))),
                c("requantize a quantized GGUF", 3, fx -> a("requantize", Q4_GGUF, "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("requantize a GGUF with a missing falcon-h1 key", 3, fx -> a("requantize", GgufEdits.withoutKey(fx, F32_GGUF, "falcon-h1.ssm.state_size"), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("eval a GGUF with a missing falcon-h1 key", 3, fx -> a("eval", GgufEdits.withoutKey(fx, Q4_GGUF, "falcon-h1.attention.head_count_kv"), "--data", VALID)),
                c("requantize a GGUF whose key has the wrong type", 3, fx -> a("requantize", GgufEdits.withKeyAsString(fx, F32_GGUF, "falcon-h1.block_count"), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("requantize a GGUF with a transposed ffn_gate", 3, fx -> a("requantize", GgufEdits.withTransposedTensor(fx, F32_GGUF, "blk.1.ffn_gate.weight"), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("requantize a GGUF without blk.3.ssm_out", 3, fx -> a("requantize", GgufEdits.withoutTensor(fx, F32_GGUF, "blk.3.ssm_out.weight"), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("requantize a GGUF whose feed_forward_length disagrees with its tensors", 3, fx -> a("requantize", GgufEdits.rewrite(F32_GGUF, fx.in.resolve("ffn.gguf"), m -> m.remove("falcon-h1.feed_forward_length").putU32("falcon-h1.feed_forward_length", 512), false), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("requantize a GGUF whose block_count is one short", 3, fx -> a("requantize", GgufEdits.rewrite(F32_GGUF, fx.in.resolve("short.gguf"), m -> m.remove("falcon-h1.block_count").putU32("falcon-h1.block_count", 3), false), "--type", "Q8_0", "-o", fx.result(".gguf"))),
                c("eval a GGUF with a transposed ffn_down", 3, fx -> a("eval", GgufEdits.withTransposedTensor(fx, Q4_GGUF, "blk.0.ffn_down.weight"), "--data", VALID)),
                c("eval a GGUF without blk.2.ffn_norm", 3, fx -> a("eval", GgufEdits.withoutTensor(fx, Q4_GGUF, "blk.2.ffn_norm"), "--data", VALID)));
    }

    /** An imatrix whose every entry is {@code name} with {@code value} sums over the tiny model's hidden size. */
    private static Path imatrix(HostileFixture fx, String name, float value) {
        float[] sums = new float[256];
        java.util.Arrays.fill(sums, value);
        Path file = fx.in.resolve("im.gguf");
        ImatrixWriter.writeGguf(file, List.of("hostile"), 1, 32, List.of(new ImatrixEntry(name, sums, new long[]{32})), false);
        return file;
    }
}
