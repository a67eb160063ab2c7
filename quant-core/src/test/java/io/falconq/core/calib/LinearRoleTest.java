package io.falconq.core.calib;

import io.falconq.formats.testing.SharedGroundTruth;
import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LinearRoleTest {
    /**
     * {@code quantize --skip}'s spelling of a linear is the role part of the weight names llama.cpp's converter wrote
     * in tiny-F32.gguf ({@code blk.N.<role>.weight}), and parses back to the same linear.
     */
    @Test
    void ggufRoleNamesAreThoseOfLlamaCppsWeightNames() {
        try (GgufFile f32 = GgufReader.open(SharedGroundTruth.root().resolve("llamacpp/tiny-F32.gguf"))) {
            for (LinearRole role : LinearRole.perLayer()) {
                String name = "blk.3." + role.ggufRoleName() + ".weight";
                assertTrue(f32.names().contains(name), name);
                assertEquals(new LinearRole.Located(3, role), LinearRole.parseGguf(name), name);
            }
        }
    }
}
