package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.tensor.TensorView;
import io.falconq.formats.testing.SharedGroundTruth;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Golden test (a) of STYLE.md: every tensor of every llama-quantize output in {@code ../shared/llamacpp} (see its
 * README: {@code llama-quantize tiny-F32.gguf tiny-<TYPE>.gguf <TYPE> 2}, and with {@code --imatrix
 * imatrix-calib.gguf} for the {@code -imatrix} files) is recomputed from the float32 rows of {@code tiny-F32.gguf}
 * with our codec for the type llama.cpp stored it in, and must be byte-identical. That covers the recipe's mixed
 * types and fallbacks, the F32 tensors llama-quantize copies, and, for the imatrix files, the importance path.
 *
 * <p>Importance is computed here straight from the imatrix GGUF tensors as {@code load_imatrix}
 * (tools/quantize/quantize.cpp) does: {@code in_sum2[i] / (float) lround(counts)}. llama-quantize uses it for a
 * tensor when an entry of exactly {@code ne[0]} values exists (otherwise it quantizes without one, or aborts, which
 * would have made the file impossible).
 *
 * <p>Dequantization is checked on the same tensors: llama.cpp's bytes pass our {@code ggml_validate_row_data} port
 * and decode to exactly the floats our own bytes decode to, every value is finite, and for F16 each value is the
 * source float rounded to half by the JDK's independent {@link Float#floatToFloat16}.
 */
class LlamaCppBitExactTest {
    private static final String[] PLAIN = {"F16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1", "Q5_0", "Q4_K_M",
            "Q4_K_S", "Q4_1", "Q4_0", "IQ4_NL", "IQ4_XS", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K"};
    private static final String[] WITH_IMATRIX = {"Q4_K_M", "Q3_K_M", "Q2_K", "IQ4_XS"};

    private static GgufFile source;
    private static Map<String, float[]> importance;
    /** file → type → tensor names, printed at the end (which tensors llama.cpp stored in which type). */
    private static final Map<String, Map<GgmlType, List<String>>> TYPES_BY_FILE = new ConcurrentSkipListMap<>();

    @BeforeAll
    static void openSource() {
        source = GgufReader.open(SharedGroundTruth.path("llamacpp/tiny-F32.gguf"));
        importance = loadImportance(SharedGroundTruth.path("llamacpp/imatrix-calib.gguf"));
    }

    @AfterAll
    static void closeSource() {
        source.close();
        StringBuilder sb = new StringBuilder("tensor types chosen by llama-quantize (quantized tensors only):\n");
        TYPES_BY_FILE.forEach((file, byType) -> {
            sb.append("  ").append(file).append(':');
            byType.forEach((type, names) -> {
                if (type != GgmlType.F32) {
                    sb.append(' ').append(type).append('×').append(names.size());
                }
            });
            sb.append('\n');
        });
        System.out.print(sb);
    }

    static Stream<Arguments> files() {
        List<Arguments> args = new ArrayList<>();
        for (String t : PLAIN) {
            args.add(Arguments.of("tiny-" + t + ".gguf", false));
        }
        for (String t : WITH_IMATRIX) {
            args.add(Arguments.of("tiny-" + t + "-imatrix.gguf", true));
        }
        return args.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void everyTensorIsByteIdentical(String file, boolean withImatrix) {
        Map<GgmlType, List<String>> byType = new TreeMap<>();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicInteger withImportance = new java.util.concurrent.atomic.AtomicInteger();
        try (GgufFile target = GgufReader.open(SharedGroundTruth.path("llamacpp/" + file))) {
            for (GgufTensorInfo info : target.tensorInfos()) {
                byType.computeIfAbsent(info.type(), k -> new ArrayList<>()).add(info.name());
            }
            // tensors are independent: compare them in parallel to keep the test short
            target.tensorInfos().parallelStream().forEach(info -> {
                TensorView expected = target.view(info.name());
                TensorView src = source.view(info.name());
                assertEquals(GgmlType.F32, src.type(), info.name());
                assertEquals(src.elementCount(), expected.elementCount(), info.name());
                float[] imp = null;
                if (withImatrix && info.nDims() >= 2 && importance.containsKey(info.name())) {
                    imp = importance.get(info.name());
                    assertEquals(info.ne()[0], imp.length, "imatrix size for " + info.name());
                    withImportance.incrementAndGet();
                }
                try (Arena arena = Arena.ofConfined()) {
                    String failure = compareTensor(src, expected, QuantType.of(info.type()).codec(), imp, arena);
                    if (failure != null) {
                        failures.add(failure);
                    }
                }
            });
        }
        int quantized = byType.entrySet().stream().filter(e -> e.getKey() != GgmlType.F32)
                .mapToInt(e -> e.getValue().size()).sum();
        TYPES_BY_FILE.put(file, byType);
        if (!failures.isEmpty()) {
            fail(file + ": " + failures.size() + " tensors differ from llama-quantize's bytes\n"
                    + String.join("\n", failures.subList(0, Math.min(3, failures.size()))));
        }
        assertTrue(quantized > 0, file + " holds no quantized tensor");
        if (withImatrix) {
            assertTrue(withImportance.get() > 0, file + ": no tensor went through the imatrix path");
        }
    }

    /** Quantizes every row of {@code src} with {@code codec}; null if identical to {@code expected}. */
    private static String compareTensor(TensorView src, TensorView expected, BlockCodec codec, float[] imp,
                                        Arena arena) {
        int n = Math.toIntExact(src.rowLength());
        long rows = src.rowCount();
        long rowBytes = codec.rowBytes(n);
        MemorySegment actual = arena.allocate(rowBytes * rows);
        float[] row = new float[n];
        float[] decodedExpected = new float[n];
        float[] decodedActual = new float[n];
        for (long r = 0; r < rows; r++) {
            long invalid = codec.firstInvalidBlock(expected.data(), r * rowBytes, n);
            if (invalid >= 0) {
                return src.name() + " row " + r + " block " + invalid + ": inf/NaN scale in llama.cpp's bytes";
            }
            MemorySegment.copy(src.data(), ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                    r * n * 4L, row, 0, n);
            codec.quantizeRow(row, 0, n, imp, actual, r * rowBytes);

            codec.dequantizeRow(expected.data(), r * rowBytes, decodedExpected, 0, n);
            codec.dequantizeRow(actual, r * rowBytes, decodedActual, 0, n);
            for (int j = 0; j < n; j++) {
                if (Float.floatToRawIntBits(decodedExpected[j]) != Float.floatToRawIntBits(decodedActual[j])
                        || !Float.isFinite(decodedExpected[j])) {
                    return src.name() + " (" + codec.type() + ") row " + r + " element " + j + ": llama.cpp's bytes "
                            + "decode to " + decodedExpected[j] + ", ours to " + decodedActual[j];
                }
                if (codec.type() == GgmlType.F16
                        && decodedExpected[j] != Float.float16ToFloat(Float.floatToFloat16(row[j]))) {
                    return src.name() + " F16 row " + r + " element " + j + " decodes to " + decodedExpected[j]
                            + ", the source " + row[j] + " rounds to " + Float.float16ToFloat(Float.floatToFloat16(row[j]));
                }
            }
        }
        return BlockDiff.describe(src.name() + " (" + codec.type() + (imp != null ? ", imatrix" : "") + ")",
                expected.data(), actual, codec.typeSize());
    }

    /** {@code load_imatrix}: per weight, {@code in_sum2 / (float) lround(counts)} per matrix (dense: one matrix). */
    private static Map<String, float[]> loadImportance(java.nio.file.Path file) {
        Map<String, float[]> out = new HashMap<>();
        try (GgufFile imatrix = GgufReader.open(file)) {
            for (String name : imatrix.names()) {
                if (!name.endsWith(".in_sum2")) {
                    continue;
                }
                String weight = name.substring(0, name.length() - ".in_sum2".length());
                GgufTensorInfo sums = imatrix.info(name);
                GgufTensorInfo counts = imatrix.info(weight + ".counts");
                assertEquals(GgmlType.F32, sums.type());
                assertEquals(GgmlType.F32, counts.type());
                int ne0 = Math.toIntExact(sums.ne()[0]);
                int nMat = Math.toIntExact(counts.elementCount());
                assertEquals((long) ne0 * nMat, sums.elementCount(), name);
                float[] s = imatrix.rawBytes(name).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
                float[] c = imatrix.rawBytes(weight + ".counts")
                        .toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
                float[] e = new float[s.length];
                for (int j = 0; j < nMat; j++) {
                    float count = (float) Math.round((double) c[j]); // std::lround, then (float)
                    for (int i = 0; i < ne0; i++) {
                        e[j * ne0 + i] = count > 0.0f ? s[j * ne0 + i] / count : 1;
                    }
                }
                out.put(weight, e);
            }
        }
        assertTrue(!out.isEmpty(), "imatrix-calib.gguf has no in_sum2 tensors");
        return out;
    }
}
