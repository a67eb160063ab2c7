package io.falconq.convert;

import io.falconq.convert.recipe.QuantRecipe;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufWriter;
import io.falconq.formats.io.InvalidInputException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.ProgressListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class GgufConversionTest {
    @TempDir
    Path tmp;

    @Test
    void hfToF32IsByteIdenticalToLlamaCppConverterOutput() throws Exception {
        Path out = tmp.resolve("tiny-F32.gguf");
        try (HfCheckpoint ckpt = HfCheckpoint.open(TestData.tinyModel())) {
            ConversionPlan plan = GgufConversion.planFromHf(ckpt, GgufConversion.Options.of(QuantRecipe.F32));
            GgufConversion.run(plan, ckpt, out, false, 2, ProgressListener.NONE);
        }
        assertSameFile(TestData.llamacpp("tiny-F32.gguf"), out);
    }

    @Test
    void hfToQ4KMIsByteIdenticalToLlamaQuantizeOutput() throws Exception {
        Path out = tmp.resolve("tiny-Q4_K_M.gguf");
        try (HfCheckpoint ckpt = HfCheckpoint.open(TestData.tinyModel())) {
            ConversionPlan plan = GgufConversion.planFromHf(ckpt, GgufConversion.Options.of(QuantRecipe.Q4_K_M));
            GgufConversion.run(plan, ckpt, out, false, 2, ProgressListener.NONE);
        }
        assertSameFile(TestData.llamacpp("tiny-Q4_K_M.gguf"), out);
    }

    /** A NaN in a source weight fails the conversion with the tensor named, and no output or temp file remains. */
    @Test
    void nonFiniteWeightIsRejectedAndNothingIsWritten() throws Exception {
        Path poisoned = tmp.resolve("poisoned-F32.gguf");
        try (GgufFile f32 = GgufReader.open(TestData.llamacpp("tiny-F32.gguf"));
             GgufWriter w = GgufWriter.begin(poisoned, f32.metadata(),
                     f32.tensorInfos().stream().map(GgufWriter.PlannedTensor::of).toList(), false)) {
            for (var t : f32.tensorInfos()) {
                byte[] bytes = f32.rawBytes(t.name()).toArray(ValueLayout.JAVA_BYTE);
                if (t.name().equals("blk.1.attn_q.weight")) {
                    MemorySegment.ofArray(bytes).set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * (256 * 7 + 5), Float.NaN);
                }
                w.write(t.name(), MemorySegment.ofArray(bytes));
            }
            w.finish();
        }
        Path outDir = Files.createDirectory(tmp.resolve("out"));
        Path out = outDir.resolve("q.gguf");
        try (GgufFile in = GgufReader.open(poisoned)) {
            ConversionPlan plan = GgufConversion.planFromGguf(in, GgufConversion.Options.of(QuantRecipe.Q4_K_M));
            var e = assertThrows(InvalidInputException.class,
                    () -> GgufConversion.run(plan, in, out, false, 2, ProgressListener.NONE));
            assertTrue(e.getMessage().contains("blk.1.attn_q.weight") && e.getMessage().contains("row 7")
                    && e.getMessage().contains("column 5"), e.getMessage());
        }
        try (var s = Files.list(outDir)) {
            assertEquals(0, s.count(), "nothing left in the output directory");
        }
    }

    static void assertSameFile(Path expected, Path actual) throws Exception {
        byte[] e = Files.readAllBytes(expected);
        byte[] a = Files.readAllBytes(actual);
        if (!Arrays.equals(e, a)) {
            int i = Arrays.mismatch(e, a);
            StringBuilder sb = new StringBuilder();
            try (GgufFile ge = GgufReader.open(expected); GgufFile ga = GgufReader.open(actual)) {
                if (!ge.metadata().keys().equals(ga.metadata().keys())) {
                    sb.append("keys differ: ").append(ge.metadata().keys()).append(" vs ").append(ga.metadata().keys()).append('\n');
                }
                for (String k : ge.metadata().keys()) {
                    if (!ge.metadata().find(k).equals(ga.metadata().find(k))) {
                        sb.append("value of ").append(k).append(": ").append(ge.metadata().find(k)).append(" vs ")
                                .append(ga.metadata().find(k)).append('\n');
                    }
                }
                for (var t : ge.tensorInfos()) {
                    if (!ga.contains(t.name())) {
                        sb.append("missing ").append(t.name()).append('\n');
                        continue;
                    }
                    var u = ga.info(t.name());
                    if (!t.equals(u)) {
                        sb.append("info ").append(t).append(" vs ").append(u).append('\n');
                    } else if (ge.rawBytes(t.name()).mismatch(ga.rawBytes(t.name())) >= 0) {
                        sb.append("data of ").append(t.name()).append(" differs at byte ")
                                .append(ge.rawBytes(t.name()).mismatch(ga.rawBytes(t.name()))).append('\n');
                    }
                }
            }
            fail(actual.getFileName() + " differs from " + expected + " at byte " + i + " (sizes " + e.length + ", "
                    + a.length + ")\n" + sb);
        }
    }
}
