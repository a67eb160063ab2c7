package io.falconq.core.quant;

/** A per-thread byte buffer in which a codec assembles one encoded row before a single copy to its destination. */
final class RowBuffer {
    private static final ThreadLocal<byte[][]> BUFFER = ThreadLocal.withInitial(() -> new byte[1][0]);

    private RowBuffer() {
    }

    /** A buffer of at least {@code length} bytes, owned by the calling thread until its next call. */
    static byte[] bytes(int length) {
        byte[][] holder = BUFFER.get();
        if (holder[0].length < length) {
            holder[0] = new byte[Math.max(length, holder[0].length * 2)];
        }
        return holder[0];
    }
}
