package io.falconq.jobs.sensitivity;

import io.falconq.core.convert.alloc.SensitivityTable;
import io.falconq.formats.gguf.GgmlType;
import org.apache.commons.math3.stat.correlation.KendallsCorrelation;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How well one sensitivity table ranks the (tensor, type) pairs of another: Spearman's and Kendall's rank
 * correlation (Apache Commons Math) over the pairs both hold, and the median factor between their values. Used to
 * judge a cheaper method (probe) against direct measurement, and one text against another (BENCHMARKS.md, issue 15).
 */
public final class SensitivityAgreement {
    /**
     * @param pairs    pairs compared
     * @param spearman Spearman's ρ
     * @param kendall  Kendall's τ-b
     * @param medianFactor median of max(a/b, b/a) over pairs where both are positive
     */
    public record Result(int pairs, double spearman, double kendall, double medianFactor) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d pairs: Spearman %.4f, Kendall %.4f, median factor %.3f", pairs,
                    spearman, kendall, medianFactor);
        }
    }

    private SensitivityAgreement() {
    }

    /**
     * Compares {@code b} with {@code a} over the pairs both hold; with {@code onlyPredictedInB} only those {@code b}
     * predicted; pairs whose value in {@code a} is at most {@code floor} (the measurement's noise) are left out.
     */
    public static Result compare(SensitivityTable a, SensitivityTable b, boolean onlyPredictedInB, double floor) {
        List<double[]> pairs = new ArrayList<>();
        for (SensitivityTable.Entry ea : a.tensors()) {
            SensitivityTable.Entry eb = b.entry(ea.name());
            if (eb == null) {
                continue;
            }
            for (Map.Entry<GgmlType, Double> v : ea.deltaKld().entrySet()) {
                Double other = eb.deltaKld().get(v.getKey());
                if (other == null || v.getValue() <= floor
                        || (onlyPredictedInB && eb.kind().get(v.getKey()) != SensitivityTable.Kind.PREDICTED)) {
                    continue;
                }
                pairs.add(new double[] {v.getValue(), other});
            }
        }
        double[] x = pairs.stream().mapToDouble(p -> p[0]).toArray();
        double[] y = pairs.stream().mapToDouble(p -> p[1]).toArray();
        double[] factors = pairs.stream().filter(p -> p[0] > 0 && p[1] > 0)
                .mapToDouble(p -> Math.max(p[0] / p[1], p[1] / p[0])).sorted().toArray();
        double median = factors.length == 0 ? Double.NaN : factors.length % 2 == 1 ? factors[factors.length / 2]
                : 0.5 * (factors[factors.length / 2 - 1] + factors[factors.length / 2]);
        if (x.length < 3) {
            return new Result(x.length, Double.NaN, Double.NaN, median);
        }
        return new Result(x.length, new SpearmansCorrelation().correlation(x, y),
                new KendallsCorrelation().correlation(x, y), median);
    }

    /**
     * {@code java -cp falconq.jar io.falconq.jobs.sensitivity.SensitivityAgreement A.json B.json [FLOOR]}: B against
     * A over every common pair, over B's predicted pairs, both above FLOOR in A (default 0).
     */
    public static void main(String[] args) {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: SensitivityAgreement A.json B.json [FLOOR]");
            System.exit(2);
        }
        SensitivityTable a = SensitivityTable.read(Path.of(args[0]));
        SensitivityTable b = SensitivityTable.read(Path.of(args[1]));
        double floor = args.length == 3 ? Double.parseDouble(args[2]) : 0;
        System.out.println("all pairs above " + floor + ":       " + compare(a, b, false, floor));
        System.out.println("B's predicted pairs above " + floor + ": " + compare(a, b, true, floor));
        System.out.println("types: " + Arrays.toString(a.tensors().getFirst().deltaKld().keySet().toArray()));
    }
}
