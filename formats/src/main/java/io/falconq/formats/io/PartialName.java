package io.falconq.formats.io;

import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name of a temporary output beside its target: {@code <target>.partial-<pid>} while it is written, and
 * {@code <target>.partial-<pid>-old} for a replaced folder waiting to be deleted ({@link AtomicFolder#commit()}).
 * The pid says which process owns it, so a leftover of a killed process can be told from a live writer's file.
 *
 * @param target the target's file name
 * @param pid    the owning process
 * @param old    whether this is a replaced target rather than new content
 */
public record PartialName(String target, long pid, boolean old) {
    private static final Pattern PATTERN = Pattern.compile("(.+)\\.partial-(\\d{1,18})(-old)?");

    /** This process's temporary name for {@code target}. */
    public static String of(String target) {
        return target + ".partial-" + ProcessHandle.current().pid();
    }

    /** This process's temporary path for {@code target}, in the same folder. */
    public static Path beside(Path target) {
        return target.resolveSibling(of(target.getFileName().toString()));
    }

    /** This process's name for {@code target} moved aside. */
    public static String oldOf(String target) {
        return of(target) + "-old";
    }

    public static Optional<PartialName> parse(String fileName) {
        Matcher m = PATTERN.matcher(fileName);
        return m.matches() ? Optional.of(new PartialName(m.group(1), Long.parseLong(m.group(2)), m.group(3) != null))
                : Optional.empty();
    }

    /** Whether the owning process has ended; this process's own names count as not abandoned. */
    public boolean abandoned() {
        return pid != ProcessHandle.current().pid() && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Whether this process owns the name. */
    public boolean ours() {
        return pid == ProcessHandle.current().pid();
    }
}
