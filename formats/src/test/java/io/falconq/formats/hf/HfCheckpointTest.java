package io.falconq.formats.hf;

import io.falconq.formats.safetensors.SafetensorsDtype;
import io.falconq.formats.safetensors.SafetensorsFile;
import io.falconq.formats.safetensors.SafetensorsReader;
import io.falconq.formats.testing.SharedGroundTruth;
import io.falconq.formats.tensor.TensorView;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HfCheckpointTest {
    @Test
    void singleAndShardedTinyCheckpointsHoldIdenticalTensors() {
        Path single = SharedGroundTruth.path("models/falcon-h1-tiny");
        Path sharded = SharedGroundTruth.path("models/falcon-h1-tiny-sharded");
        try (HfCheckpoint a = HfCheckpoint.open(single); HfCheckpoint b = HfCheckpoint.open(sharded)) {
            assertEquals(1, a.shards().size());
            assertEquals(2, b.shards().size());
            assertTrue(b.shardIndex().isPresent());
            assertEquals(a.names(), b.names());
            assertEquals(a.names().stream().sorted().toList(), a.names(), "names are sorted");
            long total = 0;
            for (String name : a.names()) {
                TensorView va = a.view(name);
                TensorView vb = b.view(name);
                assertEquals(va.type(), vb.type(), name);
                assertArrayEquals(va.shape(), vb.shape(), name);
                assertEquals(-1, va.data().mismatch(vb.data()), name + ": bytes differ");
                total += va.data().byteSize();
            }
            // model.safetensors.index.json states "total_size": the data bytes of all tensors.
            assertEquals(b.shardIndex().orElseThrow().metadata().get("total_size").asLong(), total);
            assertEquals("falcon_h1", a.configJson().get("model_type").asText());
            assertTrue(a.tokenizerJson().isPresent());
            assertTrue(a.tokenizerConfigJson().isPresent());
        }
    }

    @Test
    void singleFileHeaderMatchesSpecTable() {
        Path file = SharedGroundTruth.path("models/falcon-h1-tiny/model.safetensors");
        try (SafetensorsFile f = SafetensorsReader.open(file); HfCheckpoint viaFile = HfCheckpoint.open(file)) {
            assertEquals(f.names().size(), viaFile.names().size());
            assertEquals("pt", f.metadata().get("format"));
            // SPEC.md §1.2: model.embed_tokens.weight is [V, H]; the tiny model has V = 4096, H = 256, BF16.
            TensorView embed = f.view("model.embed_tokens.weight");
            assertArrayEquals(new long[] {4096, 256}, embed.shape());
            assertEquals(SafetensorsDtype.BF16, f.info("model.embed_tokens.weight").dtype());
            MemorySegment raw = f.rawBytes("model.embed_tokens.weight");
            assertEquals(4096L * 256 * 2, raw.byteSize());
            assertEquals(List.copyOf(f.names()), f.infos().stream().map(i -> i.name()).toList());
        }
    }
}
