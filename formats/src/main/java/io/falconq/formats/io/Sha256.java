package io.falconq.formats.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** SHA-256 digests as lower-case hex, the form used in reports, manifests and pipeline cache keys. */
public final class Sha256 {
    private static final int BUFFER_BYTES = 1 << 20;

    private Sha256() {
    }

    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform must provide SHA-256", e);
        }
    }

    public static String of(byte[] bytes) {
        return HexFormat.of().formatHex(newDigest().digest(bytes));
    }

    /**
     * The digest of int32 values (token ids) as little-endian bytes, every array in order: a calibration set's or a
     * measured text's {@code tokensSha256}.
     */
    public static String ofInts(List<int[]> arrays) {
        MessageDigest digest = newDigest();
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] values : arrays) {
            for (int v : values) {
                digest.update(b.putInt(0, v).array());
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Streams the file through the digest; files of any size. */
    public static String ofFile(Path file) {
        MessageDigest digest = newDigest();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES);
            while (channel.read(buffer) >= 0) {
                buffer.flip();
                digest.update(buffer);
                buffer.clear();
            }
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read for SHA-256: " + e.getMessage(), e);
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
