package io.falconq.it;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.gguf.GgufValue;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Acceptance test of issue 4: for every file llama.cpp made from the tiny model ({@code ../shared/llamacpp}, see its
 * README), falconq's conversion to the same type has the same tensor names, order, types, shapes and bytes, tensor for
 * tensor, and the same metadata — by both routes:
 * <ul>
 *   <li>{@code falconq convert} from the HF BF16 checkpoint (llama.cpp: {@code convert_hf_to_gguf.py} then, for all but
 *       F32, {@code llama-quantize});</li>
 *   <li>{@code falconq requantize} from llama.cpp's own {@code tiny-F32.gguf} (llama.cpp: {@code llama-quantize}).</li>
 * </ul>
 * Allowed metadata difference, the only one: {@code quantize.imatrix.file} holds the imatrix path exactly as given on
 * the command line (llama-quantize copies its argument, here {@code llamacpp/imatrix-calib.gguf}; the test passes an
 * absolute path). Files without an imatrix must be identical byte for byte, header included.
 */
class GgufBitExactIT {
    /** Keys whose value may differ, and why (see the class comment). */
    private static final Map<String, String> ALLOWED_METADATA_DIFFERENCES = Map.of(
            "quantize.imatrix.file", "the imatrix path as given on the command line");

    static List<ConvertedGgufs.Variant> variants() {
        return ConvertedGgufs.llamaCppVariants();
    }

    @ParameterizedTest(name = "convert HF -> {0}")
    @MethodSource("variants")
    void convertFromHfMatchesLlamaCpp(ConvertedGgufs.Variant v) throws Exception {
        assertSameAsLlamaCpp(v, ConvertedGgufs.get(v));
    }

    @ParameterizedTest(name = "requantize tiny-F32.gguf -> {0}")
    @MethodSource("variants")
    void requantizeFromLlamaCppF32MatchesLlamaCpp(ConvertedGgufs.Variant v, @TempDir Path dir) throws Exception {
        if (v.type().equals("F32")) {
            // tiny-F32.gguf is the converter's output, not llama-quantize's; F32 -> F32 is not one of the acceptance files
            return;
        }
        Path out = dir.resolve(v.fileName());
        List<Object> args = new ArrayList<>(List.of("requantize", CliRun.shared("llamacpp/tiny-F32.gguf"), "--type",
                v.type(), "-o", out, "-t", 2, "-q"));
        if (v.imatrix()) {
            args.add("--imatrix");
            args.add(CliRun.shared("llamacpp/imatrix-calib.gguf"));
        }
        CliRun run = CliRun.of(args.toArray());
        assertEquals(0, run.exitCode(), run.describe());
        assertSameAsLlamaCpp(v, out);
    }

    static void assertSameAsLlamaCpp(ConvertedGgufs.Variant v, Path ours) throws Exception {
        Path theirs = CliRun.shared("llamacpp/" + v.fileName());
        List<String> problems = new ArrayList<>();
        try (GgufFile ref = GgufReader.open(theirs); GgufFile got = GgufReader.open(ours)) {
            // metadata: same keys in the same order, same typed values
            assertEquals(ref.metadata().keys(), got.metadata().keys(), "metadata keys and order");
            for (String key : ref.metadata().keys()) {
                GgufValue a = ref.metadata().get(key);
                GgufValue b = got.metadata().get(key);
                if (!a.equals(b) && !(ALLOWED_METADATA_DIFFERENCES.containsKey(key) && a.type() == b.type())) {
                    problems.add("metadata " + key + ": llama.cpp " + a + ", falconq " + b);
                }
            }
            // tensors: names and order, then type, ne (n_dims included), offset and bytes, tensor for tensor
            assertEquals(ref.names(), got.names(), "tensor names and order");
            int equal = 0;
            for (GgufTensorInfo t : ref.tensorInfos()) {
                GgufTensorInfo u = got.info(t.name());
                if (t.type() != u.type() || !Arrays.equals(t.ne(), u.ne())) {
                    problems.add(t.name() + ": llama.cpp " + t.type() + " ne=" + Arrays.toString(t.ne()) + ", falconq "
                            + u.type() + " ne=" + Arrays.toString(u.ne()));
                    continue;
                }
                MemorySegment a = ref.rawBytes(t.name());
                MemorySegment b = got.rawBytes(t.name());
                long at = a.mismatch(b);
                if (at >= 0) {
                    long block = at / t.type().typeSize();
                    problems.add(t.name() + " (" + t.type() + "): bytes differ from byte " + at + " (block " + block + " of "
                            + a.byteSize() / t.type().typeSize() + ")");
                } else {
                    equal++;
                }
            }
            assertTrue(problems.isEmpty(), v.fileName() + ": " + problems.size() + " difference(s):\n"
                    + String.join("\n", problems));
            assertEquals(ref.tensorInfos().size(), equal);
        }
        if (!v.imatrix()) {
            byte[] a = Files.readAllBytes(theirs);
            byte[] b = Files.readAllBytes(ours);
            assertEquals(-1, Arrays.mismatch(a, b), v.fileName() + ": not byte-identical to llama.cpp's file (sizes "
                    + a.length + " and " + b.length + ")");
        }
    }
}
