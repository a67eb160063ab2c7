package io.falconq.formats.testing;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.safetensors.SafetensorsFile;
import io.falconq.formats.safetensors.SafetensorsReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs every catalogue entry through the library readers: each must fail with its message and name the file. */
class CorruptionCatalogTest {
    @TempDir
    Path tmp;

    @Test
    void baseFilesAreValid() throws IOException {
        Path st = tmp.resolve("base.safetensors");
        Files.write(st, CorruptionCatalog.validSafetensors());
        try (SafetensorsFile f = SafetensorsReader.open(st)) {
            assertEquals(3, f.names().size());
        }
        Path gguf = tmp.resolve("base.gguf");
        Files.write(gguf, CorruptionCatalog.validGguf());
        try (GgufFile f = GgufReader.open(gguf)) {
            assertEquals(2, f.tensorInfos().size());
            assertEquals(4, f.metadata().size());
            assertEquals(Files.size(gguf), f.dataOffset() + 32 + 96, "F32 [3,2] padded to 32 + Q8_0 2 blocks (68) padded to 96");
        }
        Path dir = tmp.resolve("ckpt");
        CorruptionCatalog.writeValidShardedCheckpoint(dir);
        try (HfCheckpoint c = HfCheckpoint.open(dir)) {
            assertEquals(java.util.List.of("a.weight", "b.weight", "c.weight"), c.names());
        }
    }

    @ParameterizedTest
    @EnumSource(CorruptionCatalog.SafetensorsCorruption.class)
    void safetensorsCorruptionIsRejected(CorruptionCatalog.SafetensorsCorruption c) throws IOException {
        assertRejected(c, CorruptionCatalog.validSafetensors(), ".safetensors", SafetensorsReader::open);
    }

    @ParameterizedTest
    @EnumSource(CorruptionCatalog.GgufCorruption.class)
    void ggufCorruptionIsRejected(CorruptionCatalog.GgufCorruption c) throws IOException {
        assertRejected(c, CorruptionCatalog.validGguf(), ".gguf", GgufReader::open);
    }

    /** {@code c} of {@code valid} changes the bytes, and {@code open} refuses the result with a message naming the file. */
    private void assertRejected(CorruptionCatalog.ByteCorruption c, byte[] valid, String extension,
                                Function<Path, AutoCloseable> open) throws IOException {
        byte[] corrupt = c.apply(valid);
        assertNotEquals(java.util.Arrays.toString(valid), java.util.Arrays.toString(corrupt), c + " changed nothing");
        Path p = tmp.resolve(c.name() + extension);
        Files.write(p, corrupt);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> open.apply(p).close(), c.name());
        assertTrue(e.getMessage().contains(c.expectedMessageFragment()), c + ": message was: " + e.getMessage());
        assertTrue(e.getMessage().contains(p.toString()), c + ": message must name the file: " + e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(CorruptionCatalog.CheckpointCorruption.class)
    void checkpointCorruptionIsRejected(CorruptionCatalog.CheckpointCorruption c) {
        Path dir = c.apply(tmp.resolve(c.name()));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> HfCheckpoint.open(dir).close(), c.name());
        assertTrue(e.getMessage().contains(c.expectedMessageFragment()), c + ": message was: " + e.getMessage());
    }
}
