package io.falconq.formats.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The one way falconq writes a file: into {@code <target>.partial-<pid>} ({@link PartialName}) in the same directory, then
 * {@code force(true)} and an atomic rename onto the target. A reader never sees a half-written output;
 * on any failure (or {@link #close()} without {@link #commit()}) the temporary file is deleted.
 *
 * <pre>{@code
 * try (AtomicOutput out = AtomicOutput.create(path, force)) {
 *     write(out.channel());
 *     out.commit();
 * }
 * }</pre>
 */
public final class AtomicOutput implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final boolean force;
    private final FileChannel channel;
    private boolean committed;
    /** The background writeback started by {@link #startWriteback()}, if any. */
    private Thread writeback;
    private volatile IOException writebackFailure;

    private AtomicOutput(Path target, Path temp, boolean force, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.force = force;
        this.channel = channel;
    }

    /**
     * Opens a temporary file beside {@code target}, created exclusively and without following a link that stands at
     * its name. Refuses an output that is or lies inside an input ({@link OutputGuard}), and an existing target unless
     * {@code force} and it is a regular file; the check is repeated at commit time. Partials of the target that
     * ended processes left behind are removed first ({@link PartialOutputs#removeStale}).
     */
    public static AtomicOutput create(Path target, boolean force) {
        Path absolute = checkWritable(target, force);
        Path temp = PartialOutputs.freshPartial(absolute);
        try {
            Files.deleteIfExists(temp); // this process's name, left by an abandoned writer; a link is not followed
            FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            PartialOutputs.register(temp);
            return new AtomicOutput(absolute, temp, force, channel);
        } catch (IOException e) {
            throw new OutputException(absolute + ": cannot create temporary file " + temp + ": " + e.getMessage(), e);
        }
    }

    /**
     * Every check {@link #create} makes before writing, for a command that wants to fail before minutes of work:
     * not an input ({@link OutputGuard#check}), what stands at the path ({@link #checkOverwrite}), and an
     * existing parent folder. Returns the absolute target.
     */
    public static Path checkWritable(Path target, boolean force) {
        Path absolute = target.toAbsolutePath();
        OutputGuard.check(absolute);
        checkOverwrite(absolute, force);
        OutputGuard.checkParent(absolute);
        return absolute;
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void writeBytes(Path target, byte[] bytes, boolean force) {
        try (AtomicOutput out = create(target, force)) {
            try (OutputStream os = out.stream()) {
                os.write(bytes);
            } catch (IOException e) {
                throw new OutputException(target + ": write failed: " + e.getMessage(), e);
            }
            out.commit();
        }
    }

    /**
     * What may stand at a file output's path: nothing, or (with {@code force}) a regular file, which is replaced by a
     * rename; never a folder, a symbolic link (the link's target is not the user's output) or a special file such as
     * {@code /dev/null}.
     */
    public static void checkOverwrite(Path target, boolean force) {
        BasicFileAttributes a = OutputGuard.attributes(target);
        if (a == null) {
            return;
        }
        if (a.isSymbolicLink()) {
            throw new OutputException(target + ": output is a symbolic link; falconq replaces neither a link nor what it "
                    + "points to - remove it or choose another output");
        }
        if (a.isDirectory()) {
            throw new OutputException(target + ": output is a directory");
        }
        if (!a.isRegularFile()) {
            throw new OutputException(target + ": output is a special file (device, FIFO or socket); falconq writes "
                    + "only regular files - choose another output");
        }
        if (!force) {
            throw new OutputException(target + ": output exists (use --force to overwrite)");
        }
    }

    public Path target() {
        return target;
    }

    public Path tempPath() {
        return temp;
    }

    public FileChannel channel() {
        return channel;
    }

    /** A stream over the channel; closing the stream does not close this output. */
    public OutputStream stream() {
        OutputStream raw = Channels.newOutputStream(channel);
        return new java.io.FilterOutputStream(new java.io.BufferedOutputStream(raw, 1 << 20)) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                flush();
            }
        };
    }

    /**
     * Starts an fsync of what was written so far on a background thread, unless one is still running. Writers call
     * it every few tens of MiB so the disk writes overlap the computation and the fsync of {@link #commit()} only
     * has the tail left; a failure is reported by {@code commit}.
     */
    public synchronized void startWriteback() {
        if (writeback != null && writeback.isAlive()) {
            return;
        }
        writeback = Thread.ofPlatform().daemon().name("falconq-writeback").start(() -> {
            try {
                channel.force(false);
            } catch (java.nio.channels.ClosedChannelException e) {
                // the output was abandoned (close without commit) while this ran
            } catch (IOException e) {
                writebackFailure = e;
            }
        });
    }

    /** fsyncs the data and renames the temporary file onto the target. */
    public void commit() {
        try {
            Thread running;
            synchronized (this) {
                running = writeback;
            }
            if (running != null) {
                running.join();
            }
            if (writebackFailure != null) {
                throw writebackFailure;
            }
            channel.force(true);
            channel.close();
            checkOverwrite(target, force);
            rename(temp, target, true);
            committed = true;
            PartialOutputs.unregister(temp);
        } catch (FileAlreadyExistsException e) {
            throw new OutputException(target + ": output exists (use --force to overwrite)", e);
        } catch (IOException e) {
            throw new OutputException(target + ": cannot commit output: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OutputException(target + ": interrupted while committing the output", e);
        }
    }

    @Override
    public void close() {
        if (committed) {
            return;
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // the temporary file is deleted next; a close failure changes nothing for the user
        }
        try {
            Files.deleteIfExists(temp);
            PartialOutputs.unregister(temp);
        } catch (IOException ignored) {
            // best effort: the name carries the pid, so a later run removes the leftover (PartialOutputs.removeStale)
        }
    }

    /**
     * Renames {@code from} to {@code to} atomically where the file system can, else by a plain move (which then is
     * not atomic); {@code replace}: an existing file at {@code to} is replaced.
     */
    public static void rename(Path from, Path to, boolean replace) throws IOException {
        CopyOption[] plain = replace ? new CopyOption[] {StandardCopyOption.REPLACE_EXISTING} : new CopyOption[0];
        CopyOption[] atomic = replace
                ? new CopyOption[] {StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING}
                : new CopyOption[] {StandardCopyOption.ATOMIC_MOVE};
        try {
            Files.move(from, to, atomic);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, plain);
        }
    }
}
