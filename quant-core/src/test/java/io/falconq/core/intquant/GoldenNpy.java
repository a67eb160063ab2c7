package io.falconq.core.intquant;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reads the golden intermediates of ../shared (numpy v1 arrays) for the AWQ forward tests. */
final class GoldenNpy {
    private GoldenNpy() {
    }

    /** A numpy v1 little-endian float32 array, flattened. */
    static float[] read(Path p) throws IOException {
        byte[] b = Files.readAllBytes(p);
        int headerLen = (b[8] & 0xFF) | (b[9] & 0xFF) << 8;
        String header = new String(b, 10, headerLen, StandardCharsets.US_ASCII);
        assertTrue(header.contains("'<f4'"), p + ": expected little-endian float32, header " + header);
        ByteBuffer bb = ByteBuffer.wrap(b, 10 + headerLen, b.length - 10 - headerLen).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[bb.remaining() / 4];
        bb.asFloatBuffer().get(v);
        return v;
    }
}
