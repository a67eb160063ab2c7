package io.falconq.core.quant;

import io.falconq.formats.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static io.falconq.core.quant.VectorDequant.F;
import static io.falconq.core.quant.VectorDequant.LANES;

/** GGML_TYPE_F32: little-endian float32, no block structure ({@code ggml_quantize_chunk} memcpy case). */
public final class F32Codec extends BlockCodec {
    public static final int VALUE_OFFSET = 0;
    public static final int VALUE_BYTES = 4;

    static final F32Codec INSTANCE = new F32Codec();

    private F32Codec() {
        super(GgmlType.F32, WITHOUT_IMATRIX);
    }

    @Override
    public void quantizeRow(float[] src, int srcOff, int n, float[] importance, MemorySegment dst, long dstOff) {
        checkQuantize(src, srcOff, n, importance);
        MemorySegment.copy(src, srcOff, dst, LittleEndian.FLOAT, dstOff, n);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        checkDequantize(dst, dstOff, n);
        MemorySegment.copy(src, LittleEndian.FLOAT, srcOff, dst, dstOff, n);
    }

    @Override
    public float dotScalar(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        float sum = 0;
        for (int j = 0; j < n; j++) {
            sum += w.get(LittleEndian.FLOAT, wOff + 4L * j) * x[xOff + j];
        }
        return sum;
    }

    @Override
    public long firstInvalidBlock(MemorySegment w, long off, int n) {
        for (int j = 0; j < n; j++) {
            if (!Float.isFinite(w.get(LittleEndian.FLOAT, off + 4L * j))) {
                return j;
            }
        }
        return -1;
    }

    @Override
    public float dotVector(MemorySegment w, long wOff, float[] x, int xOff, int n) {
        checkDot(x, xOff, n);
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (int upper = F.loopBound(n); j < upper; j += LANES) {
            FloatVector wv = FloatVector.fromMemorySegment(F, w, wOff + 4L * j, ByteOrder.LITTLE_ENDIAN);
            acc = wv.fma(FloatVector.fromArray(F, x, xOff + j), acc);
        }
        float sum = VectorDequant.sum(acc);
        for (; j < n; j++) {
            sum += w.get(LittleEndian.FLOAT, wOff + 4L * j) * x[xOff + j];
        }
        return sum;
    }

    /** A bulk copy already: the vector path is the scalar one. */
    @Override
    public void decodeRowVector(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        dequantizeRow(src, srcOff, dst, dstOff, n);
    }
}
