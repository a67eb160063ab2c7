package io.falconq.cli.pipeline;

import io.falconq.formats.io.OutputException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * {@code AtomicOutput} for a folder artifact (a GPTQ safetensors folder): the content is written into
 * {@code <target>.partial-<pid>/} beside the target, every file is fsynced, and the folder is renamed onto the
 * target. An existing target is first renamed aside to {@code <target>.partial-<pid>-old} and deleted after the
 * swap, so at every moment the target is either the old complete folder, absent, or the new complete folder;
 * a killed process leaves only {@code .partial-} names, which {@link PipelineRunner} removes on the next run.
 */
public final class AtomicFolder implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private boolean committed;

    private AtomicFolder(Path target, Path temp) {
        this.target = target;
        this.temp = temp;
    }

    public static AtomicFolder create(Path target) {
        Path absolute = target.toAbsolutePath();
        Path temp = absolute.resolveSibling(absolute.getFileName() + ".partial-" + ProcessHandle.current().pid());
        try {
            PipelineRunner.deleteRecursively(temp);
            Files.createDirectories(temp);
        } catch (IOException e) {
            throw new OutputException(temp + ": cannot create: " + e.getMessage(), e);
        }
        return new AtomicFolder(absolute, temp);
    }

    /** The folder to write into; its files become the target's on {@link #commit()}. */
    public Path folder() {
        return temp;
    }

    public Path target() {
        return target;
    }

    public void commit() {
        try {
            for (Path file : ContentHashes.files(temp)) {
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    channel.force(true);
                }
            }
            Path old = null;
            if (Files.exists(target)) {
                old = target.resolveSibling(target.getFileName() + ".partial-" + ProcessHandle.current().pid() + "-old");
                PipelineRunner.deleteRecursively(old);
                move(target, old);
            }
            move(temp, target);
            committed = true;
            if (old != null) {
                PipelineRunner.deleteRecursively(old);
            }
        } catch (IOException e) {
            throw new OutputException(target + ": cannot commit folder: " + e.getMessage(), e);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    @Override
    public void close() {
        if (!committed) {
            PipelineRunner.deleteRecursively(temp);
        }
    }
}
