package io.falconq.it;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.gguf.GgufWriter;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/** Copies of a GGUF with one metadata edit, written with falconq's own writer (tensors copied unchanged). */
final class GgufEdits {
    private GgufEdits() {
    }

    static Path withoutKey(HostileFixture fx, Path source, String key) {
        return edited(fx, source, m -> m.remove(key));
    }

    static Path withKeyAsString(HostileFixture fx, Path source, String key) {
        return edited(fx, source, m -> m.remove(key).putString(key, "12"));
    }

    private static Path edited(HostileFixture fx, Path source, Consumer<GgufMetadata> edit) {
        return rewrite(source, fx.in.resolve("edited-" + source.getFileName()), edit, false);
    }

    /** {@code source} written to {@code out} with {@code edit} applied to a copy of its metadata. */
    static Path rewrite(Path source, Path out, Consumer<GgufMetadata> edit, boolean force) {
        try (GgufFile f = GgufReader.open(source)) {
            GgufMetadata metadata = f.metadata().copy();
            edit.accept(metadata);
            List<GgufWriter.PlannedTensor> plan = f.tensorInfos().stream().map(GgufWriter.PlannedTensor::of).toList();
            try (GgufWriter w = GgufWriter.begin(out, metadata, plan, force)) {
                for (GgufTensorInfo t : f.tensorInfos()) {
                    w.write(t.name(), f.rawBytes(t.name()));
                }
                w.finish();
            }
        }
        return out;
    }
}
