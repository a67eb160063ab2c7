package io.falconq.formats.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtomicFolderTest {
    /** Pids above the kernel's pid_max (at most 2^22), so no process has them: leftovers of "killed" runs. */
    private static final long DEAD_PID_1 = 999_999_999_991L;
    private static final long DEAD_PID_2 = 999_999_999_992L;

    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        return names(dir);
    }

    private static List<String> names(Path folder) throws IOException {
        try (Stream<Path> list = Files.list(folder)) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** A partial folder as a process {@code pid} would have left it, holding {@code files} and a journal if key != null. */
    private Path leftover(Path target, long pid, String key, String... files) throws IOException {
        Path partial = Files.createDirectory(target.resolveSibling(target.getFileName() + ".partial-" + pid));
        if (key != null) {
            Files.writeString(partial.resolve(AtomicFolder.JOURNAL_FILE), key);
        }
        for (String f : files) {
            Files.writeString(partial.resolve(f), f);
        }
        return partial;
    }

    @Test
    void theTargetAppearsOnlyOnCommitAndReplacesAnOwnFolderWhole() throws IOException {
        Path target = dir.resolve("tiny-w4-gptq");
        try (AtomicFolder folder = AtomicFolder.create(target, false)) {
            Files.writeString(folder.folder().resolve("config.json"), "{}");
            Files.writeString(folder.folder().resolve("model.safetensors"), "old");
            assertFalse(Files.exists(target), "nothing at the target before commit");
            folder.commit();
        }
        assertTrue(Files.isRegularFile(target.resolve(AtomicFolder.MARKER_FILE)), "every committed folder is marked");
        try (AtomicFolder folder = AtomicFolder.create(target, true)) {
            Files.writeString(folder.folder().resolve("model.safetensors"), "new");
            assertEquals("old", Files.readString(target.resolve("model.safetensors")), "old folder intact meanwhile");
            folder.commit();
        }
        assertEquals("new", Files.readString(target.resolve("model.safetensors")));
        assertEquals(List.of(AtomicFolder.MARKER_FILE, "model.safetensors"), names(target),
                "the new folder replaces the old one, no mixing");
        assertEquals(List.of("tiny-w4-gptq"), names());
    }

    @Test
    void closingWithoutCommitLeavesNothing() throws IOException {
        try (AtomicFolder folder = AtomicFolder.create(dir.resolve("x"), false)) {
            Files.writeString(folder.folder().resolve("a"), "1");
            assertTrue(names().getFirst().startsWith("x.partial-"));
        }
        assertEquals(List.of(), names());
    }

    @Test
    void anExistingTargetNeedsForce() throws IOException {
        Path target = dir.resolve("out");
        try (AtomicFolder folder = AtomicFolder.create(target, false)) {
            folder.commit();
        }
        OutputException e = assertThrows(OutputException.class, () -> AtomicFolder.create(target, false));
        assertTrue(e.getMessage().contains("--force"), e.getMessage());
        assertEquals(List.of("out"), names());
    }

    @Test
    void aFolderFalconqDidNotWriteIsNeverReplacedEvenWithForce() throws IOException {
        Path target = Files.createDirectory(dir.resolve("photos"));
        Files.writeString(target.resolve("holiday.jpg"), "precious");
        OutputException atOpen = assertThrows(OutputException.class, () -> AtomicFolder.create(target, true));
        assertTrue(atOpen.getMessage().startsWith(target.toString()), atOpen.getMessage());
        assertThrows(OutputException.class, () -> AtomicFolder.resume(target, true, "job"));

        // the same folder appearing while a job runs is refused at commit
        Path later = dir.resolve("later");
        try (AtomicFolder folder = AtomicFolder.create(later, true)) {
            Files.createDirectory(later);
            Files.writeString(later.resolve("notes.txt"), "mine");
            OutputException atCommit = assertThrows(OutputException.class, folder::commit);
            assertTrue(atCommit.getMessage().contains(later.toString()), atCommit.getMessage());
        }
        assertEquals("precious", Files.readString(target.resolve("holiday.jpg")));
        assertEquals(List.of("notes.txt"), names(later));
        assertEquals(List.of("later", "photos"), names());
    }

    @Test
    void aSymlinkAtThePartialPathIsNotFollowed() throws IOException {
        Path victim = Files.createDirectory(dir.resolve("victim"));
        Files.writeString(victim.resolve("keep.txt"), "keep");
        Path target = dir.resolve("out");
        Path partial = dir.resolve(PartialName.of("out"));
        Files.createSymbolicLink(partial, victim);
        try (AtomicFolder folder = AtomicFolder.create(target, false)) {
            assertFalse(Files.isSymbolicLink(folder.folder()));
            Files.writeString(folder.folder().resolve("model.safetensors"), "data");
            folder.commit();
        }
        Files.createSymbolicLink(partial, victim);
        try (AtomicFolder folder = AtomicFolder.resume(target, true, "job")) {
            assertFalse(Files.isSymbolicLink(folder.folder()), "a link with our partial name is removed, not adopted");
            assertFalse(folder.resumed());
        }
        assertEquals(List.of("keep.txt"), names(victim), "nothing written into or deleted from the link's target");
        assertEquals(List.of("model.safetensors"), names(target).stream().filter(n -> !n.startsWith(".")).toList());
    }

    @Test
    void anAbandonedPartialIsAdoptedOnlyWithTheSameJobKey() throws IOException {
        Path target = dir.resolve("out");
        leftover(target, DEAD_PID_1, "key-A", "shard-1");
        leftover(target, DEAD_PID_2, "key-B", "shard-x");
        Files.createDirectory(dir.resolve("out.partial-" + DEAD_PID_2 + "-old"));
        long live = ProcessHandle.current().parent().orElseThrow().pid();
        Path ofLiveProcess = leftover(target, live, "key-A", "theirs");

        try (AtomicFolder folder = AtomicFolder.resume(target, false, "key-A")) {
            assertTrue(folder.resumed());
            assertEquals(dir.resolve(PartialName.of("out")), folder.folder());
            assertEquals(List.of(AtomicFolder.JOURNAL_FILE, "shard-1"), names(folder.folder()));
            folder.commit();
        }
        assertEquals(List.of(AtomicFolder.MARKER_FILE, "shard-1"), names(target), "the journal goes at commit");
        assertEquals(List.of("out", ofLiveProcess.getFileName().toString()), names(),
                "other abandoned partials of the target are deleted; a live process's is left alone");

        leftover(target, DEAD_PID_1, "key-A", "shard-1");
        try (AtomicFolder folder = AtomicFolder.resume(target, true, "key-C")) {
            assertFalse(folder.resumed(), "another job key starts fresh");
            assertEquals(List.of(AtomicFolder.JOURNAL_FILE), names(folder.folder()));
        }
    }

    @Test
    void theNewestMatchingPartialIsAdopted() throws IOException {
        Path target = dir.resolve("out");
        Path older = leftover(target, DEAD_PID_1, "key", "older");
        Path newer = leftover(target, DEAD_PID_2, "key", "newer");
        Files.setLastModifiedTime(older, FileTime.fromMillis(1_000_000));
        Files.setLastModifiedTime(newer, FileTime.fromMillis(2_000_000));
        try (AtomicFolder folder = AtomicFolder.resume(target, false, "key")) {
            assertTrue(Files.exists(folder.folder().resolve("newer")));
        }
        assertEquals(List.of(PartialName.of("out")), names(), "the older one is deleted");
    }

    @Test
    void aResumablePartialSurvivesCloseAndIsAdoptedByTheNextRun() throws IOException {
        Path target = dir.resolve("out");
        try (AtomicFolder folder = AtomicFolder.resume(target, false, "key")) {
            assertFalse(folder.resumed());
            Files.writeString(folder.folder().resolve("shard-1"), "done");
        }
        assertEquals(List.of(PartialName.of("out")), names(), "kept: the job can resume");
        try (AtomicFolder folder = AtomicFolder.resume(target, false, "key")) {
            assertTrue(folder.resumed());
            assertEquals("done", Files.readString(folder.folder().resolve("shard-1")));
            folder.commit();
        }
        assertEquals(List.of("out"), names());
    }
}
