package io.falconq.core.quant;

import io.falconq.core.quant.kquant.KQuantSearch;

import java.util.Arrays;

import static io.falconq.core.quant.GgmlRounding.nearestInt;

/**
 * The non-linear 4-bit codebook and the quantizer shared by IQ4_NL (one block of 32) and IQ4_XS (a super-block of
 * 256 with 6-bit block scales): {@code quantize_row_iq4_nl_impl} in ggml-quants.c.
 */
final class Iq4NonLinear {
    /** {@code kvalues_iq4nl} (ggml-common.h). */
    static final byte[] KVALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private Iq4NonLinear() {
    }

    /**
     * {@code best_index_int8}: index of the codebook entry nearest to x (binary search; an exact tie between two
     * entries goes to the upper one).
     */
    static int bestIndexInt8(int n, byte[] val, float x) {
        if (x <= val[0]) {
            return 0;
        }
        if (x >= val[n - 1]) {
            return n - 1;
        }
        int ml = 0;
        int mu = n - 1;
        while (mu - ml > 1) {
            int mav = (ml + mu) / 2;
            if (x < val[mav]) {
                mu = mav;
            } else {
                ml = mav;
            }
        }
        return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
    }

    /**
     * Port of {@code quantize_row_iq4_nl_impl} for one super-block, writing into {@code y}: fp16 d at {@code dOff},
     * the packed codes at {@code qsOff}, and (IQ4_XS only, when there are several blocks) the 6-bit block scales at
     * {@code scalesHOff}/{@code scalesLOff}.
     *
     * @param quantWeights importance for this super-block starting at {@code qwOff}, or null
     * @param ntry         7 on llama-quantize's path ({@code quantize_iq4_nl}/{@code quantize_iq4_xs}); the
     *                     {@code _ref} functions pass −1
     */
    static void quantizeSuperBlock(int superBlockSize, int blockSize, float[] x, int xOff, byte[] y, int dOff,
                                   int qsOff, int scalesHOff, int scalesLOff, float[] scales, float[] weight,
                                   byte[] L, float[] quantWeights, int qwOff, int ntry) {
        final byte[] values = KVALUES;
        float sigma2 = QuantWeights.sumOfSquares(x, xOff, superBlockSize);
        sigma2 *= 2.f / superBlockSize;

        Arrays.fill(y, qsOff, qsOff + superBlockSize / 2, (byte) 0);
        LittleEndian.putHalf(y, dOff, 0.f);

        float maxScale = 0;
        float amaxScale = 0;
        for (int ib = 0; ib < superBlockSize / blockSize; ++ib) {
            final int xb = xOff + ib * blockSize;
            final int lb = ib * blockSize;
            if (quantWeights != null) {
                QuantWeights.imatrix(weight, quantWeights, qwOff + ib * blockSize, x, xb, sigma2, blockSize);
            } else {
                for (int j = 0; j < blockSize; ++j) {
                    weight[j] = x[xb + j] * x[xb + j];
                }
            }
            float max = AbsMax.firstLargest(x, xb, blockSize);
            if (Math.abs(max) < KQuantSearch.GROUP_MAX_EPS) {
                scales[ib] = 0;
                continue;
            }
            float d = ntry > 0 ? -max / values[0] : max / values[0];
            float id = 1 / d;
            float sumqx = 0;
            float sumq2 = 0;
            for (int j = 0; j < blockSize; ++j) {
                float al = id * x[xb + j];
                int l = bestIndexInt8(16, values, al);
                L[lb + j] = (byte) l;
                float q = values[l];
                float w = weight[j];
                sumqx += w * q * x[xb + j];
                sumq2 += w * q * q;
            }
            d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
            float best = d * sumqx;
            for (int itry = -ntry; itry <= ntry; ++itry) {
                id = (itry + values[0]) / max;
                sumqx = sumq2 = 0;
                for (int j = 0; j < blockSize; ++j) {
                    float al = id * x[xb + j];
                    int l = bestIndexInt8(16, values, al);
                    float q = values[l];
                    float w = weight[j];
                    sumqx += w * q * x[xb + j];
                    sumq2 += w * q * q;
                }
                if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                    d = sumqx / sumq2;
                    best = d * sumqx;
                }
            }
            scales[ib] = d;
            float absD = Math.abs(d);
            if (absD > amaxScale) {
                amaxScale = absD;
                maxScale = d;
            }
        }

        if (superBlockSize / blockSize > 1) {
            int scalesH = 0;
            float d = -maxScale / 32;
            LittleEndian.putHalf(y, dOff, d);
            float id = d != 0 ? 1 / d : 0.f;
            for (int ib = 0; ib < superBlockSize / blockSize; ++ib) {
                int l = nearestInt(id * scales[ib]);
                l = Math.max(-32, Math.min(31, l));
                float dl = d * l;
                float idl = dl != 0 ? 1 / dl : 0.f;
                final int xb = xOff + ib * blockSize;
                final int lb = ib * blockSize;
                for (int j = 0; j < blockSize; ++j) {
                    L[lb + j] = (byte) bestIndexInt8(16, values, idl * x[xb + j]);
                }
                l += 32;
                int lLow = l & 0xf;
                int lHigh = l >> 4;
                if (ib % 2 == 0) {
                    y[scalesLOff + ib / 2] = (byte) lLow;
                } else {
                    y[scalesLOff + ib / 2] |= (byte) (lLow << 4);
                }
                scalesH |= lHigh << 2 * (ib % 8);
            }
            LittleEndian.putShort(y, scalesHOff, (short) scalesH);
        } else {
            LittleEndian.putHalf(y, dOff, scales[0]);
            if (ntry > 0) {
                float id = scales[0] != 0 ? 1 / scales[0] : 0;
                for (int j = 0; j < superBlockSize; ++j) {
                    L[j] = (byte) bestIndexInt8(16, values, id * x[xOff + j]);
                }
            }
        }

        for (int i = 0; i < superBlockSize / 32; ++i) {
            Q4_0Codec.packCodes(L, 32 * i, y, qsOff + 16 * i);
        }
    }
}
