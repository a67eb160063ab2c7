package io.falconq.formats.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * No output may overwrite what it is made from. A command declares its inputs once ({@link #declareInputs}, done for
 * every CLI command from its parsed arguments); {@link AtomicOutput} and {@link AtomicFolder} then refuse, before
 * anything is created, an output that is an input, lies inside an input folder, or contains an input (exit 4 naming
 * both). Paths are compared as real paths, so links and {@code ..} do not get around it.
 */
public final class OutputGuard {
    private static volatile List<Path> inputs = List.of();

    private OutputGuard() {
    }

    /** The inputs of the command now running (replacing earlier ones); close the returned scope when it ends. */
    public static Scope declareInputs(Collection<Path> paths) {
        List<Path> real = new ArrayList<>();
        for (Path p : paths) {
            real.add(realOf(p));
        }
        inputs = List.copyOf(real);
        return () -> inputs = List.of();
    }

    /** Ends a declaration of inputs. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /** Refuses {@code target} when it is, lies inside, or contains a declared input. */
    public static void check(Path target) {
        Path out = realOf(target);
        for (Path in : inputs) {
            if (out.equals(in)) {
                throw new OutputException(target + ": output is the input " + in + "; choose another output");
            }
            if (out.startsWith(in)) {
                throw new OutputException(target + ": output lies inside the input " + in + "; choose another output");
            }
            if (in.startsWith(out)) {
                throw new OutputException(target + ": output contains the input " + in + "; choose another output");
            }
        }
    }

    /** The target's parent must be an existing folder. */
    static void checkParent(Path absolute) {
        Path dir = absolute.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new OutputException(absolute + ": output directory " + dir + " does not exist");
        }
    }

    /** Attributes of {@code p} itself (a link is not followed), or null when nothing is there. */
    static BasicFileAttributes attributes(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return null;
        }
    }

    /** The real path of {@code p}, or of its deepest existing ancestor with the rest appended. */
    private static Path realOf(Path p) {
        Path absolute = p.toAbsolutePath().normalize();
        Path existing = absolute;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return absolute;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(absolute));
        } catch (IOException e) {
            return absolute;
        }
    }
}
