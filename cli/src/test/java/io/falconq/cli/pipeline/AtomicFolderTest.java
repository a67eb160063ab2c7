package io.falconq.cli.pipeline;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtomicFolderTest {
    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theTargetAppearsOnlyOnCommitAndReplacesAnOldFolderWhole() throws IOException {
        Path target = dir.resolve("tiny-w4-gptq");
        try (AtomicFolder folder = AtomicFolder.create(target)) {
            Files.writeString(folder.folder().resolve("config.json"), "{}");
            Files.writeString(folder.folder().resolve("model.safetensors"), "old");
            assertFalse(Files.exists(target), "nothing at the target before commit");
            folder.commit();
        }
        try (AtomicFolder folder = AtomicFolder.create(target)) {
            Files.writeString(folder.folder().resolve("model.safetensors"), "new");
            assertEquals("old", Files.readString(target.resolve("model.safetensors")), "old folder intact meanwhile");
            folder.commit();
        }
        assertEquals("new", Files.readString(target.resolve("model.safetensors")));
        assertFalse(Files.exists(target.resolve("config.json")), "the new folder replaces the old one, no mixing");
        assertEquals(List.of("tiny-w4-gptq"), names());
    }

    @Test
    void closingWithoutCommitLeavesNothing() throws IOException {
        try (AtomicFolder folder = AtomicFolder.create(dir.resolve("x"))) {
            Files.writeString(folder.folder().resolve("a"), "1");
            assertTrue(names().getFirst().startsWith("x.partial-"));
        }
        assertEquals(List.of(), names());
    }
}
