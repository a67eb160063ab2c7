package io.falconq.formats.safetensors;

import io.falconq.formats.testing.SharedGroundTruth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The tiny checkpoint and both shards were written by the reference implementation (safetensors via PyTorch);
 * rewriting them through reader → writer must give the same bytes, which pins tensor order, header JSON and
 * padding to the reference serializer.
 */
class SafetensorsRewriteTest {
    @TempDir
    Path tmp;

    @Test
    void tinyCheckpointAndShardsRewriteByteIdentically() throws Exception {
        for (String rel : List.of("models/falcon-h1-tiny/model.safetensors",
                "models/falcon-h1-tiny-sharded/model-00001-of-00002.safetensors",
                "models/falcon-h1-tiny-sharded/model-00002-of-00002.safetensors")) {
            Path original = SharedGroundTruth.path(rel);
            Path out = tmp.resolve(original.getFileName());
            try (SafetensorsFile f = SafetensorsReader.open(original)) {
                List<SafetensorsWriter.PlannedTensor> plan = f.infos().stream().map(SafetensorsWriter.PlannedTensor::of).toList();
                try (SafetensorsWriter w = SafetensorsWriter.begin(out, f.header().metadataPresent() ? f.metadata() : null, plan, false)) {
                    assertEquals(f.infos(), w.order(), rel + ": writer order/offsets differ from the reference file");
                    assertEquals(f.header().headerLength(), w.headerLength(), rel);
                    for (SafetensorsTensorInfo t : w.order()) {
                        w.write(t.name(), f.rawBytes(t.name()));
                    }
                    w.finish();
                }
            }
            assertEquals(-1, Files.mismatch(original, out), rel + ": rewrite is not byte-identical");
        }
    }
}
