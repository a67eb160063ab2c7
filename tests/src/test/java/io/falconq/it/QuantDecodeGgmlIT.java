package io.falconq.it;

import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.quant.QuantType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Scalar dequantization equals ggml's, bit for bit, on every quantized tensor llama.cpp wrote for the tiny model,
 * and so does the Vector API decoder of the runtime.
 *
 * <p>The independent reference is {@code ggml-dequant-sha256.tsv} (test resources): for each non-F32 tensor of
 * each {@code ../shared/llamacpp/tiny-*.gguf}, the SHA-256 of the float32 values (little-endian, row order) that
 * ggml's own {@code ggml_get_type_traits(type)->to_float} (libggml-base of the llama.cpp v0.5.0 build, i.e.
 * {@code dequantize_row_*} of ggml-quants.c) produces. It was made by {@code tests/src/test/c/ggml_dequant_sha256.c}
 * (build and run commands in its header). A single differing bit in any of ~140 million values changes a hash.
 */
class QuantDecodeGgmlIT {
    private static final String RESOURCE = "ggml-dequant-sha256.tsv";

    record Expected(String file, String tensor, String type, long rows, long rowLength, String sha256) {
    }

    /** The reference lines grouped by file. */
    static Stream<List<Expected>> files() throws IOException {
        Map<String, List<Expected>> byFile = new LinkedHashMap<>();
        try (InputStream in = QuantDecodeGgmlIT.class.getResourceAsStream(RESOURCE)) {
            assertNotNull(in, RESOURCE + " is missing from the test resources");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                String[] f = line.split("\t");
                Expected e = new Expected(f[0], f[1], f[2], Long.parseLong(f[3]), Long.parseLong(f[4]), f[5]);
                byFile.computeIfAbsent(e.file(), k -> new java.util.ArrayList<>()).add(e);
            }
        }
        return byFile.values().stream();
    }

    @ParameterizedTest(name = "{index}: {0}")
    @MethodSource("files")
    void dequantizationMatchesGgmlBitForBit(List<Expected> expected) throws Exception {
        String file = expected.getFirst().file();
        try (GgufFile gguf = GgufReader.open(CliRun.shared("llamacpp/" + file))) {
            long nonF32 = gguf.tensorInfos().stream().filter(t -> t.type() != GgmlType.F32).count();
            assertEquals(nonF32, expected.size(), file + ": the reference must cover every non-F32 tensor");
            for (Expected e : expected) {
                TensorView v = gguf.view(e.tensor());
                assertEquals(e.type().toUpperCase(java.util.Locale.ROOT), v.type().name().toUpperCase(java.util.Locale.ROOT),
                        file + " " + e.tensor());
                QuantType type = QuantType.of(v.type());
                int n = Math.toIntExact(e.rowLength());
                long rows = e.rows();
                long rowBytes = type.codec().rowBytes(n);
                assertEquals(rows * rowBytes, v.data().byteSize(), file + " " + e.tensor() + " size");
                MessageDigest scalar = sha256();
                MessageDigest vector = sha256();
                float[] a = new float[n];
                float[] b = new float[n];
                ByteBuffer bytes = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
                for (long r = 0; r < rows; r++) {
                    type.codec().dequantizeRow(v.data(), r * rowBytes, a, 0, n);
                    type.codec().decodeRowVector(v.data(), r * rowBytes, b, 0, n);
                    update(scalar, bytes, a);
                    update(vector, bytes, b);
                }
                assertEquals(e.sha256(), HexFormat.of().formatHex(scalar.digest()),
                        file + " " + e.tensor() + " (" + type + "): scalar dequantizeRow differs from ggml's to_float");
                assertEquals(e.sha256(), HexFormat.of().formatHex(vector.digest()),
                        file + " " + e.tensor() + " (" + type + "): vector decoder differs from ggml's to_float");
            }
        }
    }

    private static MessageDigest sha256() throws NoSuchAlgorithmException {
        return MessageDigest.getInstance("SHA-256");
    }

    private static void update(MessageDigest md, ByteBuffer bytes, float[] values) {
        bytes.clear();
        bytes.asFloatBuffer().put(values);
        md.update(bytes.array(), 0, 4 * values.length);
    }
}
