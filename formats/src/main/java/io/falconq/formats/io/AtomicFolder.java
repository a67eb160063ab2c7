package io.falconq.formats.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@link AtomicOutput} for a folder artifact (an HF or GPTQ safetensors folder): the content is written into
 * {@code <target>.partial-<pid>/} beside the target, every file and folder is fsynced, and the folder is renamed onto
 * the target. An existing target is first renamed aside to {@code <target>.partial-<pid>-old} and deleted after the
 * swap, so at every moment the target is either the old complete folder, absent, or the new complete folder.
 *
 * <p><b>Ownership.</b> Every committed folder holds {@value #MARKER_FILE}. An existing target is replaced only with
 * {@code force} and only if it holds that marker: a folder falconq did not write is never deleted, even with
 * {@code --force} ({@link OutputException} naming it). The check runs when the folder is opened and again at commit.
 *
 * <p><b>Resume.</b> {@link #resume} records a job key in {@value #JOURNAL_FILE} inside the partial folder. A later
 * {@code resume} of the same target with the same key, after the writing process has ended (killed, crashed), adopts
 * the newest such partial by renaming it to its own partial name, so the job can keep what is already complete (e.g.
 * committed shards, see {@code ShardedSafetensorsWriter}). Abandoned partials of the target with another key, or
 * without a journal, are deleted. A partial is never taken from a process that still runs.
 *
 * <p><b>Close without commit.</b> A folder from {@link #create} is deleted; one from {@link #resume} is kept for the
 * next run, since a killed process could not delete it anyway and the job key decides whether it is reused.
 * {@code PipelineRunner}'s stale-partial cleanup leaves such folders (they hold {@value #JOURNAL_FILE}) to resume.
 * A folder from {@link #create} is registered with {@link PartialOutputs}, so SIGTERM/SIGINT delete it too.
 */
public final class AtomicFolder implements AutoCloseable {
    /** Present in every folder this class commits; the licence to replace the folder later. */
    public static final String MARKER_FILE = ".falconq-output";
    /** Present only in a resumable partial folder: the job key, UTF-8. */
    public static final String JOURNAL_FILE = ".falconq-job";
    private static final byte[] MARKER = "This folder was written by falconq; --force may replace it.\n"
            .getBytes(StandardCharsets.UTF_8);
    private static final int MAX_JOB_KEY_BYTES = 1 << 16;
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    private final Path target;
    private final Path temp;
    private final boolean force;
    private final boolean resumable;
    private final boolean resumed;
    private boolean committed;

    private AtomicFolder(Path target, Path temp, boolean force, boolean resumable, boolean resumed) {
        this.target = target;
        this.temp = temp;
        this.force = force;
        this.resumable = resumable;
        this.resumed = resumed;
    }

    /** Starts an empty partial folder; refuses an existing target unless {@code force} and falconq wrote it. */
    public static AtomicFolder create(Path target, boolean force) {
        Path absolute = checkWritable(target, force);
        Path temp = PartialOutputs.freshPartial(absolute);
        createExclusively(temp);
        PartialOutputs.register(temp);
        return new AtomicFolder(absolute, temp, force, false, false);
    }

    /**
     * Adopts the newest abandoned partial folder of {@code target} whose journal holds {@code jobKey} (then
     * {@link #resumed()} is true and its content is kept), deletes the target's other abandoned partials, or else
     * starts an empty one with that journal.
     *
     * @param jobKey what makes two runs the same job (inputs, options, versions); compared byte for byte
     */
    public static AtomicFolder resume(Path target, boolean force, String jobKey) {
        byte[] key = jobKey.getBytes(StandardCharsets.UTF_8);
        if (key.length == 0 || key.length > MAX_JOB_KEY_BYTES) {
            throw new IllegalArgumentException("job key of " + key.length + " bytes (1 to " + MAX_JOB_KEY_BYTES + ")");
        }
        Path absolute = checkWritable(target, force);
        Path temp = PartialName.beside(absolute);
        List<Path> abandoned = PartialOutputs.leftovers(absolute);
        Path adopt = abandoned.stream()
                .filter(p -> !PartialName.parse(p.getFileName().toString()).orElseThrow().old() && holdsJournal(p, jobKey))
                .max(Comparator.comparing(AtomicFolder::modified).thenComparing(Path::toString))
                .orElse(null);
        for (Path p : abandoned) {
            if (!p.equals(adopt)) {
                deleteRecursively(p);
            }
        }
        if (adopt == null) {
            createExclusively(temp);
            writeSynced(temp.resolve(JOURNAL_FILE), key);
            return new AtomicFolder(absolute, temp, force, true, false);
        }
        if (!adopt.equals(temp)) {
            deleteRecursively(temp);
            try {
                AtomicOutput.rename(adopt, temp, false);
            } catch (IOException e) {
                throw new OutputException(adopt + ": cannot adopt for resuming: " + e.getMessage(), e);
            }
        }
        return new AtomicFolder(absolute, temp, force, true, true);
    }

    /** The folder to write into; its files become the target's on {@link #commit()}. */
    public Path folder() {
        return temp;
    }

    public Path target() {
        return target;
    }

    /** Whether {@link #folder()} holds the content of an earlier, interrupted run of the same job. */
    public boolean resumed() {
        return resumed;
    }

    /** Writes the marker, fsyncs every file and folder, and swaps the folder onto the target. */
    public void commit() {
        try {
            writeSynced(temp.resolve(MARKER_FILE), MARKER);
            checkReplaceable(target, force);
            Files.deleteIfExists(temp.resolve(JOURNAL_FILE));
            syncTree(temp);
            Path old = null;
            if (Files.exists(target, NOFOLLOW)) {
                old = target.resolveSibling(PartialName.oldOf(target.getFileName().toString()));
                deleteRecursively(old);
                AtomicOutput.rename(target, old, false);
            }
            AtomicOutput.rename(temp, target, false);
            committed = true;
            PartialOutputs.unregister(temp);
            sync(target.getParent());
            if (old != null) {
                deleteRecursively(old);
            }
        } catch (IOException e) {
            throw new OutputException(target + ": cannot commit folder: " + e.getMessage(), e);
        }
    }

    /** Deletes the partial folder unless it was committed or is resumable (see the class comment). */
    @Override
    public void close() {
        if (!committed && !resumable) {
            deleteRecursively(temp);
            PartialOutputs.unregister(temp);
        }
    }

    /**
     * Every check {@link #create} and {@link #resume} make before writing, for a command that wants to fail before
     * minutes of work: not an input ({@link OutputGuard#check}) and {@link #checkReplaceable}. Returns the absolute
     * target; missing parent folders are created when the folder is.
     */
    public static Path checkWritable(Path target, boolean force) {
        Path absolute = target.toAbsolutePath();
        OutputGuard.check(absolute);
        checkReplaceable(absolute, force);
        return absolute;
    }

    /** Refuses an existing target unless {@code force} and it holds {@link #MARKER_FILE}. */
    public static void checkReplaceable(Path target, boolean force) {
        if (!Files.exists(target, NOFOLLOW)) {
            return;
        }
        if (!force) {
            throw new OutputException(target + ": output exists (use --force to overwrite)");
        }
        if (!Files.isDirectory(target, NOFOLLOW) || !Files.isRegularFile(target.resolve(MARKER_FILE), NOFOLLOW)) {
            throw new OutputException(target + ": exists and was not written by falconq (no " + MARKER_FILE
                    + " inside); refusing to replace it even with --force - move it away or choose another output");
        }
    }

    /** Deletes a file or a folder tree; symbolic links are deleted, never followed. */
    public static void deleteRecursively(Path path) {
        if (!Files.exists(path, NOFOLLOW)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.comparingInt(Path::getNameCount).reversed()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new OutputException(path + ": cannot delete: " + e.getMessage(), e);
        }
    }

    /** Makes {@code temp} a new, empty folder; whatever was there (a link is not followed) is deleted first. */
    private static void createExclusively(Path temp) {
        try {
            Files.createDirectories(temp.getParent());
            deleteRecursively(temp);
            Files.createDirectory(temp);
        } catch (FileAlreadyExistsException e) {
            throw new OutputException(temp + ": appeared while it was being created (another writer?)", e);
        } catch (IOException e) {
            throw new OutputException(temp + ": cannot create: " + e.getMessage(), e);
        }
    }

    private static boolean holdsJournal(Path partial, String jobKey) {
        Path journal = partial.resolve(JOURNAL_FILE);
        try {
            if (!Files.isDirectory(partial, NOFOLLOW)) {
                return false;
            }
            BasicFileAttributes a = Files.readAttributes(journal, BasicFileAttributes.class, NOFOLLOW);
            return a.isRegularFile() && a.size() <= MAX_JOB_KEY_BYTES
                    && new String(Files.readAllBytes(journal), StandardCharsets.UTF_8).equals(jobKey);
        } catch (IOException e) {
            return false;
        }
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p, NOFOLLOW);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    private static void writeSynced(Path file, byte[] bytes) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        } catch (IOException e) {
            throw new OutputException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    private static void syncTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                if (Files.isRegularFile(p, NOFOLLOW) || Files.isDirectory(p, NOFOLLOW)) {
                    sync(p);
                }
            }
        }
    }

    /** fsync of a file or a folder (on Linux a folder opened for reading can be fsynced, which makes renames durable). */
    private static void sync(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
