import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.gguf.GgufTensorInfo;
import io.falconq.formats.tensor.TensorView;
import io.falconq.core.quant.BlockCodec;
import io.falconq.core.quant.QuantType;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CPU time of the runtime's weight-row decode on every 2-D quantized tensor of a GGUF, in chunks of 256 columns as
 * QuantMatMul decodes its panels, mixing the file's types in one loop (as one window of eval does). Runs against
 * whichever build is on the class path: the runtime's QuantizedRowDecoder.decode when the jar still has it (before
 * #18), else the codec's BlockCodec.decodeRow. Prints ns per decoded element (median of ROUNDS timed passes after
 * WARMUP passes) and a checksum of the floats, which must agree between builds.
 *
 *   java --add-modules jdk.incubator.vector -cp falconq.jar tests/bench/RowDecodeBench.java GGUF [WARMUP] [ROUNDS]
 * (tests/bench/row-decode-ab.sh runs two builds interleaved.)
 */
public class RowDecodeBench {
    private static final int CHUNK = 256;

    record Matrix(QuantType type, MemorySegment data, int rows, int cols, long rowBytes) {
    }

    public static void main(String[] args) throws Throwable {
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 9;
        MethodHandle decode;
        String path;
        try {
            Class<?> old = Class.forName("io.falconq.runtime.kernel.QuantizedRowDecoder");
            decode = MethodHandles.publicLookup().findStatic(old, "decode", MethodType.methodType(void.class,
                    QuantType.class, MemorySegment.class, long.class, float[].class, int.class, int.class));
            path = "QuantizedRowDecoder.decode";
        } catch (ClassNotFoundException e) {
            MethodHandle virtual = MethodHandles.publicLookup().findVirtual(BlockCodec.class, "decodeRow",
                    MethodType.methodType(void.class, MemorySegment.class, long.class, float[].class, int.class,
                            int.class));
            MethodHandle codecOf = MethodHandles.publicLookup().findVirtual(QuantType.class, "codec",
                    MethodType.methodType(BlockCodec.class));
            decode = MethodHandles.filterArguments(virtual, 0, codecOf);
            path = "BlockCodec.decodeRow";
        }
        try (GgufFile gguf = GgufReader.open(Path.of(args[0]))) {
            List<Matrix> ms = new ArrayList<>();
            long elements = 0;
            for (GgufTensorInfo t : gguf.tensorInfos()) {
                TensorView v = gguf.view(t.name());
                QuantType type = QuantType.find(v.type()).orElse(null);
                if (v.rank() != 2 || type == null || v.type().blockSize() == 1) {
                    continue;
                }
                int rows = Math.toIntExact(v.dim(0));
                int cols = Math.toIntExact(v.dim(1));
                ms.add(new Matrix(type, v.data(), rows, cols, type.codec().rowBytes(cols)));
                elements += (long) rows * cols;
            }
            float[] dst = new float[CHUNK];
            double[] ns = new double[rounds];
            var bean = ManagementFactory.getThreadMXBean();
            double checksum = 0;
            for (int r = -warmup; r < rounds; r++) {
                long t0 = bean.getCurrentThreadCpuTime();
                checksum = 0;
                for (Matrix m : ms) {
                    for (int row = 0; row < m.rows; row++) {
                        for (int k0 = 0; k0 < m.cols; k0 += CHUNK) {
                            int n = Math.min(CHUNK, m.cols - k0); // whole blocks: k0 is a multiple of 256
                            long off = row * m.rowBytes + m.type.codec().rowBytes(k0);
                            decode.invokeExact(m.type, m.data, off, dst, 0, n);
                            checksum += dst[row % n];
                        }
                    }
                }
                long t1 = bean.getCurrentThreadCpuTime();
                if (r >= 0) {
                    ns[r] = (double) (t1 - t0) / elements;
                }
            }
            java.util.Arrays.sort(ns);
            System.out.printf("%s: %s, %d tensors, %d elements, %.3f ns/element CPU (median of %d), checksum %.6f%n",
                    path, Path.of(args[0]).getFileName(), ms.size(), elements, ns[rounds / 2], rounds, checksum);
        }
    }
}
