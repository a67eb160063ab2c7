package io.falconq.core.model;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.core.model.TensorNameMap.RoleAt;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

class TensorNameMapTest {
    /**
     * Every tensor of the HF checkpoint maps to exactly the tensor names llama.cpp's converter produced in
     * tiny-F32.gguf, and the shapes after the converter's reshapes equal the GGUF ne reversed.
     */
    @Test
    void hfNamesMapOntoTheConverterOutput() {
        FalconH1Config c = FalconH1Config.read(FalconH1ConfigTest.shared().resolve("models/falcon-h1-tiny/config.json"));
        Set<String> mapped = new TreeSet<>();
        try (HfCheckpoint ckpt = HfCheckpoint.open(FalconH1ConfigTest.shared().resolve("models/falcon-h1-tiny"));
             GgufFile f32 = GgufReader.open(FalconH1ConfigTest.shared().resolve("llamacpp/tiny-F32.gguf"))) {
            for (String hf : ckpt.names()) {
                RoleAt at = TensorNameMap.fromHf(hf).orElseThrow(() -> new AssertionError("unmapped " + hf));
                assertEquals(hf, at.hfName(), "round trip");
                assertArrayEquals(at.role().hfShape(c), ckpt.view(hf).shape(), hf);
                mapped.add(at.ggufName());
                GgufTensorInfo info = f32.info(at.ggufName());
                long[] ne = info.ne();
                long[] shape = at.role().convertedShape(c);
                long[] reversed = new long[shape.length];
                for (int i = 0; i < shape.length; i++) {
                    reversed[i] = shape[shape.length - 1 - i];
                }
                assertArrayEquals(ne, reversed, at.ggufName() + " " + Arrays.toString(ne));
            }
            assertEquals(new TreeSet<>(f32.names()), mapped);
            for (String g : f32.names()) {
                RoleAt at = TensorNameMap.fromGguf(g).orElseThrow(() -> new AssertionError("unmapped " + g));
                assertEquals(g, at.ggufName());
            }
        }
    }

    @Test
    void everyRoleRoundTripsThroughBothNames() {
        for (TensorRole r : TensorRole.values()) {
            for (int layer : r.perLayer() ? new int[]{0, 7, 35, 123456789} : new int[]{-1}) {
                RoleAt at = new RoleAt(r, layer);
                assertEquals(at, TensorNameMap.fromHf(at.hfName()).orElseThrow(), at.hfName());
                assertEquals(at, TensorNameMap.fromGguf(at.ggufName()).orElseThrow(), at.ggufName());
                assertTrue(TensorNameMap.fromGguf(at.hfName()).isEmpty() || at.hfName().equals(at.ggufName()));
            }
            if (r.perLayer()) {
                assertTrue(TensorNameMap.fromGguf(r.ggufName(0).replace("blk.0.", "blk.1234567890.")).isEmpty(),
                        "more than 9 digits");
                assertTrue(TensorNameMap.fromGguf(r.ggufName(0).replace("blk.0.", "blk..")).isEmpty(), "no digits");
                assertTrue(TensorNameMap.fromGguf(r.ggufName(0) + "x").isEmpty(), "trailing characters");
                assertTrue(TensorNameMap.fromGguf("x" + r.ggufName(0)).isEmpty(), "leading characters");
            }
        }
    }

    @Test
    void suffixlessNamesAndLayerParsing() {
        assertEquals(new RoleAt(TensorRole.FFN_NORM, 3), TensorNameMap.fromGguf("blk.3.ffn_norm").orElseThrow());
        assertTrue(TensorNameMap.fromGguf("blk.3.ffn_norm.weight").isEmpty(), "llama.cpp asks for ffn_norm without suffix");
        assertEquals(new RoleAt(TensorRole.SSM_A, 12), TensorNameMap.fromHf("model.layers.12.mamba.A_log").orElseThrow());
        assertEquals(new RoleAt(TensorRole.SSM_DT_BIAS, 0), TensorNameMap.fromHf("model.layers.0.mamba.dt_bias").orElseThrow());
        assertTrue(TensorNameMap.fromHf("model.layers.01.mamba.D").isEmpty());
        assertTrue(TensorNameMap.fromHf("model.layers.x.mamba.D").isEmpty());
        assertTrue(TensorNameMap.fromHf("model.layers.0.mamba.in_proj.bias").isEmpty());
        assertEquals(-1, TensorNameMap.ggufLayerOf("output.weight"));
        assertEquals(17, TensorNameMap.ggufLayerOf("blk.17.attn_q.weight"));
    }
}
