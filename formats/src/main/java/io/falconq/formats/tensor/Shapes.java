package io.falconq.formats.tensor;

/** Facts about a tensor's dimensions that hold whatever order a format stores them in. */
public final class Shapes {
    private Shapes() {
    }

    /** The number of elements: the product of the dimensions (1 for a scalar), failing on {@code long} overflow. */
    public static long elementCount(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
