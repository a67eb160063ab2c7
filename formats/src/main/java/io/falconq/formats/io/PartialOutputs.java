package io.falconq.formats.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The temporary outputs ({@link PartialName}) of this process, and what happens to them when a run ends early.
 *
 * <p>{@link AtomicOutput} and {@link AtomicFolder#create} register their partial file or folder while it is written;
 * a shutdown hook (installed on first use) deletes whatever is still registered when the JVM ends on SIGTERM or
 * SIGINT, which then exits with 143 or 130. Resumable job folders ({@link AtomicFolder#resume}) are never registered:
 * they exist to be adopted by the next run. A SIGKILLed process cannot clean up, so every new output first removes
 * the partials its target has from processes that have ended ({@link #removeStale}), again except job folders.
 */
public final class PartialOutputs {
    private static final Set<Path> REGISTERED = ConcurrentHashMap.newKeySet();
    private static boolean hookInstalled;

    private PartialOutputs() {
    }

    /** Deletes {@code partial} if this process ends before {@link #unregister}. */
    public static void register(Path partial) {
        installHook();
        REGISTERED.add(partial);
    }

    public static void unregister(Path partial) {
        REGISTERED.remove(partial);
    }

    /** Whether {@code partial} is a live temporary output of this process. */
    static boolean registered(Path partial) {
        return REGISTERED.contains(partial);
    }

    /**
     * Deletes the partial files and folders of {@code target} left by processes that have ended, or left under this
     * process's own name but not registered (a pid reused after a kill); resumable job folders are kept.
     */
    static void removeStale(Path target) {
        for (Path p : leftovers(target)) {
            if (!Files.exists(p.resolve(AtomicFolder.JOURNAL_FILE), LinkOption.NOFOLLOW_LINKS)) {
                AtomicFolder.deleteRecursively(p);
            }
        }
    }

    /** A new output's partial: the stale ones of {@code target} removed, this process's name beside it. */
    static Path freshPartial(Path target) {
        removeStale(target);
        return PartialName.beside(target);
    }

    /** Partial names of {@code target} (beside it) of ended processes, or of this one but not registered. */
    static List<Path> leftovers(Path target) {
        String name = target.getFileName().toString();
        List<Path> out = new ArrayList<>();
        try (Stream<Path> list = Files.list(target.getParent())) {
            for (Path p : list.toList()) {
                PartialName.parse(p.getFileName().toString())
                        .filter(n -> n.target().equals(name) && (n.abandoned() || n.ours()) && !registered(p))
                        .ifPresent(n -> out.add(p));
            }
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            throw new OutputException(target.getParent() + ": cannot list: " + e.getMessage(), e);
        }
        return out;
    }

    private static synchronized void installHook() {
        if (!hookInstalled) {
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("falconq-partial-cleanup")
                    .unstarted(PartialOutputs::deleteRegistered));
            hookInstalled = true;
        }
    }

    /** Runs in the shutdown hook while the writing threads may still be running: a few attempts per path. */
    private static void deleteRegistered() {
        for (Path p : List.copyOf(REGISTERED)) {
            for (int attempt = 0; attempt < 5 && Files.exists(p, LinkOption.NOFOLLOW_LINKS); attempt++) {
                try {
                    AtomicFolder.deleteRecursively(p);
                } catch (RuntimeException e) {
                    Thread.onSpinWait(); // a writer added a file meanwhile; walk again
                }
            }
        }
    }
}
