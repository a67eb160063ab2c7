package io.falconq.runtime.eval;

import io.falconq.formats.io.AtomicFolder;
import io.falconq.formats.io.AtomicOutput;
import io.falconq.formats.io.InputFiles;
import io.falconq.formats.io.InvalidInputException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The saved log-probabilities of several texts (one per language): a folder with one {@link LogitsFile}
 * {@code LABEL.logits} per text and {@value #INDEX}, the labels one per line in evaluation order. Written as one
 * {@link AtomicFolder}; read back in the index's order, so a re-evaluation pools the texts in the same order.
 */
public final class LogitsFolder {
    public static final String INDEX = "texts.tsv";
    public static final String SUFFIX = ".logits";

    private LogitsFolder() {
    }

    /** A label usable as a file name: letters, digits, {@code . _ -}, not starting with a dot. */
    public static String checkLabel(String label) {
        if (label.isEmpty() || label.startsWith(".") || !label.matches("[\\p{L}\\p{N}._-]+")) {
            throw new IllegalArgumentException("text label '" + label + "' must be letters, digits, '.', '_' or '-'"
                    + " and not start with '.' (it names a file of the logits folder)");
        }
        return label;
    }

    public static Writer create(Path dir, boolean force) {
        return new Writer(AtomicFolder.create(dir, force));
    }

    /** Adds one file per text; {@link #commit()} writes the index and puts the folder in place. */
    public static final class Writer implements AutoCloseable {
        private final AtomicFolder folder;
        private final List<String> labels = new ArrayList<>();

        private Writer(AtomicFolder folder) {
            this.folder = folder;
        }

        /** The writer of text {@code label}'s file; commit it before {@link #commit()}. */
        public LogitsFile.Writer add(String label, LogitsFile.Header header) {
            if (labels.contains(checkLabel(label))) {
                throw new IllegalArgumentException("text label " + label + " given twice");
            }
            labels.add(label);
            return LogitsFile.create(folder.folder().resolve(label + SUFFIX), true, header);
        }

        public void commit() {
            AtomicOutput.writeBytes(folder.folder().resolve(INDEX),
                    (String.join("\n", labels) + "\n").getBytes(StandardCharsets.UTF_8), true);
            folder.commit();
        }

        @Override
        public void close() {
            folder.close();
        }
    }

    /** The files of a folder, open, in index order. */
    public record Entry(String label, LogitsFile.Reader reader) {
    }

    /** Opens every file the index lists (closed again if one fails); close each entry's reader when done. */
    public static List<Entry> open(Path dir) {
        Path index = dir.resolve(INDEX);
        if (!Files.isRegularFile(index)) {
            throw new InvalidInputException(dir + ": no " + INDEX + " (not a logits folder written by falconq eval "
                    + "--save-logits with several texts)");
        }
        String text = InputFiles.readUtf8(index, 1 << 20);
        List<Entry> entries = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        try {
            for (String label : text.split("\n")) {
                if (label.isEmpty()) {
                    continue;
                }
                try {
                    checkLabel(label);
                } catch (IllegalArgumentException e) {
                    throw new InvalidInputException(index + ": " + e.getMessage());
                }
                if (!seen.add(label)) {
                    throw new InvalidInputException(index + ": label " + label + " listed twice");
                }
                entries.add(new Entry(label, LogitsFile.open(dir.resolve(label + SUFFIX))));
            }
            if (entries.isEmpty()) {
                throw new InvalidInputException(index + ": lists no text");
            }
        } catch (RuntimeException e) {
            entries.forEach(en -> en.reader().close());
            throw e;
        }
        return entries;
    }
}
