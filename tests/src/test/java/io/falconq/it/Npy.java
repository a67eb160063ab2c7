package io.falconq.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A float32 little-endian {@code .npy} array (NumPy format versions 1–3: magic {@code \x93NUMPY}, version, header
 * length, a Python-dict header with {@code descr}, {@code fortran_order} and {@code shape}, then the raw data),
 * returned in C (row-major) order whatever order the file uses (the reference saved some transposed views, which
 * NumPy writes in Fortran order).
 */
record Npy(long[] shape, float[] data) {
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    static Npy read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[6];
        b.get(magic);
        if (magic[0] != (byte) 0x93 || !new String(magic, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
            throw new IllegalArgumentException(file + ": not a .npy file");
        }
        int major = b.get();
        b.get();
        int headerLength = major == 1 ? Short.toUnsignedInt(b.getShort()) : b.getInt();
        String header = new String(bytes, b.position(), headerLength, StandardCharsets.ISO_8859_1);
        b.position(b.position() + headerLength);
        Matcher descr = DESCR.matcher(header);
        Matcher fortran = FORTRAN.matcher(header);
        Matcher shape = SHAPE.matcher(header);
        if (!descr.find() || !fortran.find() || !shape.find()) {
            throw new IllegalArgumentException(file + ": unreadable header " + header);
        }
        if (!descr.group(1).equals("<f4")) {
            throw new IllegalArgumentException(file + ": expected little-endian float32, header " + header);
        }
        long[] dims = Arrays.stream(shape.group(1).split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .mapToLong(Long::parseLong).toArray();
        long count = Arrays.stream(dims).reduce(1, Math::multiplyExact);
        if (b.remaining() != count * 4) {
            throw new IllegalArgumentException(file + ": " + b.remaining() + " data bytes, expected " + count * 4);
        }
        float[] data = new float[(int) count];
        b.asFloatBuffer().get(data);
        return new Npy(dims, fortran.group(1).equals("True") ? toCOrder(data, dims) : data);
    }

    /** Column-major (first index fastest) → row-major (last index fastest). */
    private static float[] toCOrder(float[] f, long[] dims) {
        float[] c = new float[f.length];
        int[] idx = new int[dims.length];
        for (int i = 0; i < f.length; i++) {
            // i walks the C order; compute the matching Fortran offset
            int rem = i;
            for (int d = dims.length - 1; d >= 0; d--) {
                idx[d] = (int) (rem % dims[d]);
                rem /= (int) dims[d];
            }
            long off = 0;
            long stride = 1;
            for (int d = 0; d < dims.length; d++) {
                off += idx[d] * stride;
                stride *= dims[d];
            }
            c[i] = f[(int) off];
        }
        return c;
    }
}
