package io.falconq.runtime.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.io.LittleEndianLayout;
import io.falconq.formats.tensor.TensorSource;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.intquant.IntQuantScheme;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A linear weight stored in the GPTQ layout ({@code io.falconq.core.intquant.GptqLayout}, SPEC.md §3): {@code qweight},
 * {@code qzeros}, {@code scales}, {@code g_idx} instead of {@code .weight}. At load the packed integers are
 * regrouped per output row (still packed, {@code bits} per weight) so a row decodes from contiguous words;
 * {@code W[o, i] = scales[g, o] · (q[o, i] − zeros[g, o])} with {@code g = g_idx[i]} and zeros already +1.
 */
public final class GptqWeightMatrix extends StoredWeightMatrix {

    private final int bits;
    private final int pf;
    private final int mask;
    private final int wordsPerRow;
    private final int[] rowWords;      // (out, in / pf)
    private final float[] scales;      // (groups, out)
    private final int[] zeros;         // (groups, out), stored value + 1
    private final int[] gIdx;          // (in)

    private GptqWeightMatrix(String name, int rows, int cols, int bits, int[] rowWords, float[] scales, int[] zeros,
                             int[] gIdx) {
        super(name, rows, cols);
        this.bits = bits;
        this.pf = 32 / bits;
        this.mask = (1 << bits) - 1;
        this.wordsPerRow = cols / pf;
        this.rowWords = rowWords;
        this.scales = scales;
        this.zeros = zeros;
        this.gIdx = gIdx;
    }

    /** True when {@code module.qweight} exists in {@code src}. */
    public static boolean present(TensorSource src, String module) {
        return src.find(module + ".qweight").isPresent();
    }

    /**
     * Reads the four tensors of {@code module} with the scheme of {@code quantizationConfig} (config.json's
     * {@code quantization_config}), checking every shape against {@code rows × cols}.
     */
    public static GptqWeightMatrix read(TensorSource src, String module, int rows, int cols, JsonNode quantizationConfig) {
        if (quantizationConfig == null || !"gptq".equals(quantizationConfig.path("quant_method").asText())) {
            throw new InvalidInputException(module + ".qweight found but config.json has no quantization_config with "
                    + "quant_method \"gptq\"");
        }
        String fmt = quantizationConfig.path("checkpoint_format").asText("gptq");
        if (!fmt.equals("gptq")) {
            throw new InvalidInputException(module + ": checkpoint_format \"" + fmt + "\" is not supported (only the "
                    + "v1 \"gptq\" layout, whose qzeros hold zero − 1)");
        }
        int bits = quantizationConfig.path("bits").asInt(-1);
        int group = quantizationConfig.path("group_size").asInt(-1);
        IntQuantScheme scheme;
        try {
            scheme = new IntQuantScheme(bits, group, quantizationConfig.path("sym").asBoolean(true), false);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(module + ": quantization_config " + e.getMessage());
        }
        int pf = scheme.packFactor();
        int groups = scheme.groupCount(cols);
        int width = (rows + pf - 1) / pf;
        TensorView qw = expect(src, module + ".qweight", GgmlType.I32, cols / pf, rows);
        TensorView qz = expect(src, module + ".qzeros", GgmlType.I32, groups, width);
        TensorView sc = expect(src, module + ".scales", GgmlType.F16, groups, rows);
        TensorView gi = expect(src, module + ".g_idx", GgmlType.I32, cols);
        if (cols % pf != 0) {
            throw new InvalidInputException(module + ": " + cols + " inputs are not a multiple of " + pf);
        }
        int[] rowWords = new int[rows * (cols / pf)];
        MemorySegment q = qw.data();
        for (int r = 0; r < cols / pf; r++) {
            for (int o = 0; o < rows; o++) {
                int word = q.get(LittleEndianLayout.INT, 4L * ((long) r * rows + o));
                rowWords[o * (cols / pf) + r] = word;
            }
        }
        int mask = scheme.maxq();
        int[] zeros = new int[groups * rows];
        float[] scales = new float[groups * rows];
        for (int g = 0; g < groups; g++) {
            for (int o = 0; o < rows; o++) {
                int word = qz.data().get(LittleEndianLayout.INT, 4L * ((long) g * width + o / pf));
                zeros[g * rows + o] = ((word >>> (bits * (o % pf))) & mask) + 1;
                float s = Float.float16ToFloat(sc.data().get(LittleEndianLayout.SHORT, 2L * ((long) g * rows + o)));
                if (!Float.isFinite(s)) {
                    throw new InvalidInputException(module + ".scales[" + g + ", " + o + "] is " + s);
                }
                scales[g * rows + o] = s;
            }
        }
        int[] gIdx = new int[cols];
        for (int i = 0; i < cols; i++) {
            gIdx[i] = gi.data().get(LittleEndianLayout.INT, 4L * i);
            if (gIdx[i] < 0 || gIdx[i] >= groups) {
                throw new InvalidInputException(module + ".g_idx[" + i + "] = " + gIdx[i] + " outside [0, " + groups + ")");
            }
        }
        return new GptqWeightMatrix(module, rows, cols, bits, rowWords, scales, zeros, gIdx);
    }

    private static TensorView expect(TensorSource src, String name, GgmlType type, long... shape) {
        TensorView v = src.view(name);
        if (v.type() != type || !Arrays.equals(v.shape(), shape)) {
            throw new InvalidInputException(name + ": " + v.type() + " " + Arrays.toString(v.shape()) + ", expected "
                    + type + " " + Arrays.toString(shape) + " (GPTQ layout, SPEC.md §3)");
        }
        return v;
    }

    @Override
    public GgmlType type() {
        return GgmlType.I32;
    }

    @Override
    public void decodeRow(int row, float[] dst, int dstOff) {
        int base = row * wordsPerRow;
        for (int i = 0; i < cols; i++) {
            int q = (rowWords[base + i / pf] >>> (bits * (i % pf))) & mask;
            int g = gIdx[i] * rows + row;
            dst[dstOff + i] = scales[g] * (q - zeros[g]);
        }
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        int base = row * wordsPerRow;
        float acc = 0f;
        for (int i = 0; i < cols; i++) {
            int q = (rowWords[base + i / pf] >>> (bits * (i % pf))) & mask;
            int g = gIdx[i] * rows + row;
            acc += scales[g] * (q - zeros[g]) * x[xOff + i];
        }
        return acc;
    }
}
