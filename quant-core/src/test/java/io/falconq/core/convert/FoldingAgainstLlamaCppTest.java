package io.falconq.core.convert;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.hf.HfCheckpoint;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.model.FalconH1Config;
import io.falconq.core.model.MupFolding;
import io.falconq.core.model.TensorNameMap;
import io.falconq.core.model.TensorRole;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.*;

/**
 * µP folding and the A_log transform, value by value, against llama.cpp's converter output tiny-F32.gguf.
 */
class FoldingAgainstLlamaCppTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void everyFoldedTensorEqualsTheConverterBitForBit() {
        FalconH1Config c = FalconH1Config.read(TestData.tinyModel().resolve("config.json"));
        int folded = 0;
        try (HfCheckpoint ckpt = HfCheckpoint.open(TestData.tinyModel());
             GgufFile f32 = GgufReader.open(TestData.llamacpp("tiny-F32.gguf"))) {
            for (String hf : ckpt.names()) {
                TensorNameMap.RoleAt at = TensorNameMap.fromHf(hf).orElseThrow();
                if (at.role().transform() != TensorRole.Transform.NONE) {
                    continue;
                }
                MupFolding folding = MupFolding.of(at.role(), c);
                TensorView v = ckpt.view(hf);
                long rowLen = v.rowLength();
                var expected = f32.rawBytes(at.ggufName());
                float[] row = new float[(int) rowLen];
                for (long r = 0; r < v.rowCount(); r++) {
                    for (int j = 0; j < rowLen; j++) {
                        row[j] = Float.intBitsToFloat((v.data().get(I16, 2 * (r * rowLen + j)) & 0xFFFF) << 16);
                    }
                    folding.applyToRow(r, row, 0, row.length);
                    for (int j = 0; j < rowLen; j++) {
                        float e = expected.get(F32, 4 * (r * rowLen + j));
                        if (Float.floatToRawIntBits(e) != Float.floatToRawIntBits(row[j])) {
                            fail(at.ggufName() + " row " + r + " col " + j + ": converter " + e + ", ours " + row[j]);
                        }
                    }
                }
                if (!folding.isIdentity()) {
                    folded++;
                }
            }
        }
        // token_embd, output, and per layer q, k, v, o, in_proj, out_proj, gate, down
        assertEquals(2 + 4 * 8, folded);
    }

    /** in_proj's five named row slices follow SPEC.md §1.1 / GGUF-NOTES.md §3.3. */
    @Test
    void inProjSlices() {
        FalconH1Config c = FalconH1Config.read(TestData.tinyModel().resolve("config.json"));
        var segs = MupFolding.of(TensorRole.SSM_IN, c).segments();
        assertEquals(5, segs.size());
        assertEquals("z", segs.get(0).name());
        assertEquals(0, segs.get(0).fromRow());
        assertEquals(384, segs.get(1).fromRow());
        assertEquals(768, segs.get(2).fromRow());
        assertEquals(800, segs.get(3).fromRow());
        assertEquals(832, segs.get(4).fromRow());
        assertEquals(838, segs.get(4).toRow());
        assertArrayEquals(new float[]{1.25f, 0.25f}, segs.get(1).factors());
    }

    /**
     * ssm_a = −exp(A_log) as the converter's float32 array library computes it. The correctly rounded value
     * ({@code (float) Math.exp}) differs for some of these 24 values, which is why the port exists.
     */
    @Test
    void negExpMatchesTheConverterForEverySsmA() {
        int differsFromCorrectlyRounded = 0;
        try (HfCheckpoint ckpt = HfCheckpoint.open(TestData.tinyModel());
             GgufFile f32 = GgufReader.open(TestData.llamacpp("tiny-F32.gguf"))) {
            for (int layer = 0; layer < 4; layer++) {
                TensorView aLog = ckpt.view(TensorRole.SSM_A.hfName(layer));
                var a = f32.rawBytes(TensorRole.SSM_A.ggufName(layer));
                for (int h = 0; h < aLog.elementCount(); h++) {
                    float x = Float.intBitsToFloat((aLog.data().get(I16, 2L * h) & 0xFFFF) << 16);
                    float expected = a.get(F32, 4L * h);
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(-NumpyFloat32Exp.exp(x)),
                            "layer " + layer + " head " + h + " A_log " + x);
                    if (expected != -(float) Math.exp(x)) {
                        differsFromCorrectlyRounded++;
                    }
                }
            }
        }
        assertTrue(differsFromCorrectlyRounded > 0, "the test data should show why a port of numpy's exp is needed");
    }

    @Test
    void numpyExpIsCloseToExpEverywhereInRange() {
        java.util.Random rnd = new java.util.Random(42);
        for (int i = 0; i < 100_000; i++) {
            float x = (rnd.nextFloat() - 0.5f) * 170f;
            double exact = Math.exp(x);
            float ours = NumpyFloat32Exp.exp(x);
            // numpy documents a maximum error of 2.52 ulp for this kernel
            assertTrue(Math.abs(ours - exact) <= 3 * Math.ulp((float) exact), "x=" + x + " ours=" + ours + " exact=" + exact);
        }
        assertEquals(Float.POSITIVE_INFINITY, NumpyFloat32Exp.exp(100f));
        assertEquals(0f, NumpyFloat32Exp.exp(-200f));
        assertTrue(Float.isNaN(NumpyFloat32Exp.exp(Float.NaN)));
    }
}
