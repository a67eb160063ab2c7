package io.falconq.it;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufMetadata;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.gguf.GgufWriter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/** Copies of a GGUF with one metadata or tensor-table edit, written with falconq's own writer (tensors copied unchanged). */
final class GgufEdits {
    private GgufEdits() {
    }

    static Path withoutKey(HostileFixture fx, Path source, String key) {
        return edited(fx, source, m -> m.remove(key));
    }

    static Path withKeyAsString(HostileFixture fx, Path source, String key) {
        return edited(fx, source, m -> m.remove(key).putString(key, "12"));
    }

    /** A copy without tensor {@code name}. */
    static Path withoutTensor(HostileFixture fx, Path source, String name) {
        return rewriteTensors(source, fx.in.resolve("edited-" + source.getFileName()),
                t -> t.name().equals(name) ? null : t);
    }

    /** A copy whose tensor {@code name} has its two dimensions swapped (same bytes, transposed shape). */
    static Path withTransposedTensor(HostileFixture fx, Path source, String name) {
        return rewriteTensors(source, fx.in.resolve("edited-" + source.getFileName()), t -> !t.name().equals(name) ? t
                : new GgufWriter.PlannedTensor(t.name(), t.type(), new long[]{t.ne()[1], t.ne()[0]}));
    }

    /**
     * A copy of {@code source} whose tensors named in {@code names} are {@code donor}'s (type and bytes as the donor
     * stores them): e.g. an F32 model with exactly one of llama-quantize's quantized tensors.
     */
    static Path withTensorsOf(Path source, Path donor, java.util.Set<String> names, Path out) {
        try (GgufFile f = GgufReader.open(source); GgufFile d = GgufReader.open(donor)) {
            List<GgufWriter.PlannedTensor> plan = new ArrayList<>();
            for (GgufTensorInfo t : f.tensorInfos()) {
                plan.add(GgufWriter.PlannedTensor.of(names.contains(t.name()) ? d.info(t.name()) : t));
            }
            try (GgufWriter w = GgufWriter.begin(out, f.metadata().copy(), plan, false)) {
                for (GgufWriter.PlannedTensor t : plan) {
                    w.write(t.name(), (names.contains(t.name()) ? d : f).rawBytes(t.name()));
                }
                w.finish();
            }
        }
        return out;
    }

    private static Path rewriteTensors(Path source, Path out, UnaryOperator<GgufWriter.PlannedTensor> edit) {
        try (GgufFile f = GgufReader.open(source)) {
            List<GgufWriter.PlannedTensor> plan = new ArrayList<>();
            for (GgufTensorInfo t : f.tensorInfos()) {
                GgufWriter.PlannedTensor e = edit.apply(GgufWriter.PlannedTensor.of(t));
                if (e != null) {
                    plan.add(e);
                }
            }
            try (GgufWriter w = GgufWriter.begin(out, f.metadata().copy(), plan, false)) {
                for (GgufWriter.PlannedTensor t : plan) {
                    w.write(t.name(), f.rawBytes(t.name()));
                }
                w.finish();
            }
        }
        return out;
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
