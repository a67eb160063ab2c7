package io.falconq.formats.testing;

import io.falconq.formats.gguf.GgufFile;
import io.falconq.formats.gguf.GgufReader;
import io.falconq.formats.io.InvalidInputException;
import io.falconq.formats.safetensors.SafetensorsFile;
import io.falconq.formats.safetensors.SafetensorsReader;
import io.falconq.formats.safetensors.SafetensorsTensorInfo;
import io.falconq.formats.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded mutation fuzzing of small valid files: byte flips, truncations, insertions/deletions and edits of
 * length/count/offset-sized fields with boundary values. The only acceptable outcomes are a successful open (whose
 * every tensor can then be read) or an {@link InvalidInputException}; anything else (IndexOutOfBounds,
 * NegativeArraySize, OutOfMemoryError, ArithmeticException, a hang) fails with the seed and mutation history.
 */
class RandomCorruptionTest {
    private static final long SEED = 0x5EED_F00DL;
    private static final int ITERATIONS_PER_FORMAT = 2000;

    private static final Path LABEL = Path.of("fuzz");

    @Test
    void mutatedSafetensorsFilesOnlyEverFailWithInvalidInput() {
        byte[] base = CorruptionCatalog.validSafetensors();
        int[] outcomes = run(base, SEED, p -> {
            try (SafetensorsFile f = SafetensorsReader.read(LABEL, p)) {
                for (SafetensorsTensorInfo t : f.infos()) {
                    touch(f.rawBytes(t.name()));
                }
            }
        });
        assertTrue(outcomes[1] > ITERATIONS_PER_FORMAT / 2, "most mutations must be rejected, got " + Arrays.toString(outcomes));
    }

    @Test
    void mutatedGgufFilesOnlyEverFailWithInvalidInput() {
        byte[] base = CorruptionCatalog.validGguf();
        int[] outcomes = run(base, SEED + 1, p -> {
            try (GgufFile f = GgufReader.read(LABEL, p)) {
                for (GgufTensorInfo t : f.tensorInfos()) {
                    touch(f.view(t.name()).data());
                }
            }
        });
        assertTrue(outcomes[1] > ITERATIONS_PER_FORMAT / 2, "most mutations must be rejected, got " + Arrays.toString(outcomes));
    }

    /** The same on a real llama.cpp output (imatrix-calib.gguf, 52 KB: long string arrays, F32 tensors). */
    @Test
    void mutatedLlamaCppGgufOnlyEverFailsWithInvalidInput() throws java.io.IOException {
        byte[] base = java.nio.file.Files.readAllBytes(SharedGroundTruth.path("llamacpp/imatrix-calib.gguf"));
        run(base, SEED + 2, p -> {
            try (GgufFile f = GgufReader.read(LABEL, p)) {
                for (GgufTensorInfo t : f.tensorInfos()) {
                    touch(f.view(t.name()).data());
                }
            }
        });
    }

    private static long touch(MemorySegment s) {
        long sum = 0;
        if (s.byteSize() > 0) {
            sum += s.get(ValueLayout.JAVA_BYTE, 0) + s.get(ValueLayout.JAVA_BYTE, s.byteSize() - 1);
        }
        return sum;
    }

    /** Returns {opened, rejected}. */
    private int[] run(byte[] base, long seed, Consumer<MemorySegment> open) {
        return assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Random rnd = new Random(seed);
            int[] outcomes = new int[2];
            for (int i = 0; i < ITERATIONS_PER_FORMAT; i++) {
                byte[] f = base.clone();
                StringBuilder history = new StringBuilder();
                int mutations = 1 + rnd.nextInt(3);
                for (int m = 0; m < mutations; m++) {
                    f = mutate(f, rnd, history);
                }
                try {
                    // in memory: the readers' file path only adds mmap, which the corruption catalogue test covers
                    open.accept(MemorySegment.ofArray(f));
                    outcomes[0]++;
                } catch (InvalidInputException e) {
                    outcomes[1]++;
                } catch (Throwable t) {
                    fail("seed " + seed + " iteration " + i + " mutations [" + history + "]: " + t, t);
                }
            }
            return outcomes;
        });
    }

    private static final long[] INTERESTING = {0, 1, 2, 7, 8, 31, 32, 33, 63, 64, 255, 256, 0x7fff_ffffL, 0x8000_0000L,
            0xffff_ffffL, 1L << 32, 1L << 40, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE, -1, -8, 100_000_000L, 100_000_001L};

    private static byte[] mutate(byte[] f, Random rnd, StringBuilder history) {
        if (f.length == 0) {
            history.append("grow;");
            return new byte[] {(byte) rnd.nextInt()};
        }
        int kind = rnd.nextInt(7);
        int at = rnd.nextInt(f.length);
        switch (kind) {
            case 0 -> { // flip a few bytes
                int n = 1 + rnd.nextInt(4);
                for (int k = 0; k < n; k++) {
                    int pos = rnd.nextInt(f.length);
                    f[pos] ^= (byte) (1 + rnd.nextInt(255));
                    history.append("flip@").append(pos).append(';');
                }
                return f;
            }
            case 1 -> { // truncate
                history.append("truncate@").append(at).append(';');
                return Arrays.copyOf(f, at);
            }
            case 2, 3 -> { // overwrite a u64 or u32 field with a boundary value
                long v = rnd.nextInt(4) == 0 ? f.length + rnd.nextInt(64) - 32 : INTERESTING[rnd.nextInt(INTERESTING.length)];
                int width = kind == 2 ? 8 : 4;
                int pos = Math.max(0, Math.min(at, f.length - width));
                if (f.length < width) {
                    return f;
                }
                ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
                if (width == 8) {
                    b.putLong(pos, v);
                } else {
                    b.putInt(pos, (int) v);
                }
                history.append("u").append(width * 8).append('@').append(pos).append('=').append(v).append(';');
                return f;
            }
            case 4 -> { // insert random bytes
                int n = 1 + rnd.nextInt(16);
                byte[] ins = new byte[n];
                rnd.nextBytes(ins);
                byte[] out = new byte[f.length + n];
                System.arraycopy(f, 0, out, 0, at);
                System.arraycopy(ins, 0, out, at, n);
                System.arraycopy(f, at, out, at + n, f.length - at);
                history.append("insert").append(n).append('@').append(at).append(';');
                return out;
            }
            case 5 -> { // delete a range
                int n = Math.min(1 + rnd.nextInt(16), f.length - at);
                byte[] out = new byte[f.length - n];
                System.arraycopy(f, 0, out, 0, at);
                System.arraycopy(f, at + n, out, at, f.length - at - n);
                history.append("delete").append(n).append('@').append(at).append(';');
                return out;
            }
            default -> { // JSON-significant / digit characters (mostly matters for safetensors headers)
                byte[] chars = "{}[],:\"-0123456789e. ".getBytes();
                f[at] = chars[rnd.nextInt(chars.length)];
                history.append("char@").append(at).append('=').append((char) f[at]).append(';');
                return f;
            }
        }
    }
}
