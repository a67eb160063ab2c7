package io.falconq.jobs.sensitivity;

import io.falconq.core.convert.alloc.SensitivityTable;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.OutputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensors a measurement has finished, one line each ({@code name TAB TYPE=bits,TYPE~bits…}: the values as the
 * exact bits of the double, {@code =} measured, {@code ~} predicted), appended and synced as each tensor completes. A killed run resumes after the last
 * complete line; values are read back bit for bit, so a resumed run writes the same file as an uninterrupted one.
 */
final class MeasuredResults implements AutoCloseable {
    private final Path file;
    private final FileChannel channel;
    private final Map<String, Tensor> done = new LinkedHashMap<>();

    /** One finished tensor: its ΔKLD per concrete type and how each was obtained. */
    record Tensor(Map<GgmlType, Double> values, Map<GgmlType, SensitivityTable.Kind> kinds) {
    }

    private MeasuredResults(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** Opens the record, keeping its complete lines and cutting off a line a kill left unfinished. */
    static MeasuredResults open(Path file) {
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            MeasuredResults r = new MeasuredResults(file, ch);
            String text = Files.readString(file, StandardCharsets.UTF_8);
            int complete = text.lastIndexOf('\n') + 1;
            for (String line : text.substring(0, complete).split("\n")) {
                if (!line.isEmpty()) {
                    r.parse(line);
                }
            }
            ch.truncate(complete);
            return r;
        } catch (IOException | RuntimeException e) {
            throw new OutputException(file + ": cannot read the measurement record: " + e.getMessage(), e);
        }
    }

    private void parse(String line) {
        int tab = line.indexOf('\t');
        Map<GgmlType, Double> values = new EnumMap<>(GgmlType.class);
        Map<GgmlType, SensitivityTable.Kind> kinds = new EnumMap<>(GgmlType.class);
        for (String kv : line.substring(tab + 1).split(",")) {
            int eq = Math.max(kv.indexOf('='), kv.indexOf('~'));
            GgmlType type = GgmlType.valueOf(kv.substring(0, eq));
            values.put(type, Double.longBitsToDouble(Long.parseUnsignedLong(kv.substring(eq + 1), 16)));
            kinds.put(type, kv.charAt(eq) == '=' ? SensitivityTable.Kind.MEASURED : SensitivityTable.Kind.PREDICTED);
        }
        done.put(line.substring(0, tab), new Tensor(values, kinds));
    }

    /** The measured values of {@code tensor}, or null when it is not done yet. */
    Tensor get(String tensor) {
        return done.get(tensor);
    }

    int size() {
        return done.size();
    }

    /** Records a finished tensor durably. */
    void add(String tensor, Tensor t) {
        StringBuilder line = new StringBuilder(tensor).append('\t');
        t.values().forEach((type, v) -> line.append(type.name())
                .append(t.kinds().get(type) == SensitivityTable.Kind.MEASURED ? '=' : '~')
                .append(Long.toHexString(Double.doubleToRawLongBits(v))).append(','));
        line.setCharAt(line.length() - 1, '\n');
        try {
            ByteBuffer b = ByteBuffer.wrap(line.toString().getBytes(StandardCharsets.UTF_8));
            long pos = channel.size();
            while (b.hasRemaining()) {
                pos += channel.write(b, pos);
            }
            channel.force(false);
        } catch (IOException e) {
            throw new OutputException(file + ": cannot write: " + e.getMessage(), e);
        }
        done.put(tensor, t);
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // every line was forced when added
        }
    }
}
