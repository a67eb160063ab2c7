package io.falconq.jobs.sensitivity;

import io.falconq.core.convert.PlannedTensor;
import io.falconq.core.convert.alloc.SensitivityTable.Kind;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.core.parallel.WorkerPool;
import io.falconq.runtime.kernel.WeightMatrix;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The three ways {@link SensitivityJob.Method} turns a group of tensors (one layer's, or one global) into values. */
final class TensorMeasurement {
    private final CandidateTypes candidates;
    private final DownstreamKld kld;
    private final double floor;
    private final WorkerPool pool;

    TensorMeasurement(CandidateTypes candidates, DownstreamKld kld, double floor, WorkerPool pool) {
        this.candidates = candidates;
        this.kld = kld;
        this.floor = floor;
        this.pool = pool;
    }

    /** The values of every tensor of {@code group}, by name. */
    Map<String, MeasuredResults.Tensor> group(SensitivityJob.Method method, List<CandidateTypes.Tensor> group) {
        Map<String, MeasuredResults.Tensor> out = new LinkedHashMap<>();
        boolean layer = group.getFirst().role().perLayer();
        if (method == SensitivityJob.Method.LAYER_GAIN && layer) {
            return layerGain(group);
        }
        for (CandidateTypes.Tensor t : group) {
            out.put(t.name(), method == SensitivityJob.Method.DIRECT ? direct(t) : probe(t));
        }
        return out;
    }

    /** Every candidate type measured end to end. */
    private MeasuredResults.Tensor direct(CandidateTypes.Tensor t) {
        Map<GgmlType, Double> values = new EnumMap<>(GgmlType.class);
        Map<GgmlType, Kind> kinds = new EnumMap<>(GgmlType.class);
        for (Map.Entry<GgmlType, PlannedTensor> c : t.byType().entrySet()) {
            values.put(c.getKey(), kld.meanKld(t.role(), candidates.encode(c.getValue())) - floor);
            kinds.put(c.getKey(), Kind.MEASURED);
        }
        return new MeasuredResults.Tensor(values, kinds);
    }

    /**
     * Two candidates measured end to end: the one with the largest importance-weighted weight error and the one a
     * third of the way down the error order (Q4_K of the default ladder); the others predicted on the {@link PowerLaw}
     * through those two points (the imatrix-weighted error is, within one tensor, the diagonal approximation of the
     * quadratic form the KLD is to second order).
     */
    private MeasuredResults.Tensor probe(CandidateTypes.Tensor t) {
        WeightMatrix reference = candidates.reference(t);
        float[] weights = CandidateTypes.importance(t);
        Map<GgmlType, Double> error = new EnumMap<>(GgmlType.class);
        for (Map.Entry<GgmlType, PlannedTensor> c : t.byType().entrySet()) {
            error.put(c.getKey(), WeightError.weighted(reference, candidates.encode(c.getValue()), weights, pool));
        }
        List<GgmlType> byError = error.keySet().stream()
                .sorted(java.util.Comparator.comparingDouble((GgmlType x) -> -error.get(x)).thenComparing(x -> x))
                .toList();
        GgmlType hi = byError.getFirst();
        GgmlType mid = byError.get(byError.size() / 3);
        Map<GgmlType, Double> measured = new EnumMap<>(GgmlType.class);
        for (GgmlType type : new java.util.LinkedHashSet<>(List.of(hi, mid))) {
            measured.put(type, kld.meanKld(t.role(), candidates.encode(t.byType().get(type))) - floor);
        }
        PowerLaw law = PowerLaw.through(error.get(hi), measured.get(hi), error.get(mid), measured.get(mid));
        Map<GgmlType, Double> values = new EnumMap<>(GgmlType.class);
        Map<GgmlType, Kind> kinds = new EnumMap<>(GgmlType.class);
        for (Map.Entry<GgmlType, Double> e : error.entrySet()) {
            Double m = measured.get(e.getKey());
            values.put(e.getKey(), m != null ? m : law.predict(e.getValue()));
            kinds.put(e.getKey(), m != null ? Kind.MEASURED : Kind.PREDICTED);
        }
        return new MeasuredResults.Tensor(values, kinds);
    }

    /**
     * One layer: every (tensor, type) run through that layer alone for its output-error energy; the pair with the
     * largest energy and the one a third of the way down measured end to end; the rest on the layer's
     * {@link PowerLaw} from energy to ΔKLD through those two.
     */
    private Map<String, MeasuredResults.Tensor> layerGain(List<CandidateTypes.Tensor> layer) {
        record Pair(CandidateTypes.Tensor tensor, GgmlType type, double energy) {
        }
        List<Pair> pairs = new java.util.ArrayList<>();
        for (CandidateTypes.Tensor t : layer) {
            for (Map.Entry<GgmlType, PlannedTensor> c : t.byType().entrySet()) {
                pairs.add(new Pair(t, c.getKey(), kld.layerOutputError(t.role(), candidates.encode(c.getValue()))));
            }
        }
        List<Pair> byEnergy = pairs.stream().sorted(java.util.Comparator.comparingDouble((Pair p) -> -p.energy()))
                .toList();
        Pair hi = byEnergy.getFirst();
        Pair mid = byEnergy.get(byEnergy.size() / 3);
        Map<Pair, Double> measured = new LinkedHashMap<>();
        for (Pair p : new java.util.LinkedHashSet<>(List.of(hi, mid))) {
            measured.put(p, kld.meanKld(p.tensor().role(), candidates.encode(p.tensor().byType().get(p.type())))
                    - floor);
        }
        PowerLaw law = PowerLaw.through(hi.energy(), measured.get(hi), mid.energy(), measured.get(mid));
        Map<String, MeasuredResults.Tensor> out = new LinkedHashMap<>();
        for (CandidateTypes.Tensor t : layer) {
            Map<GgmlType, Double> values = new EnumMap<>(GgmlType.class);
            Map<GgmlType, Kind> kinds = new EnumMap<>(GgmlType.class);
            for (Pair p : pairs) {
                if (p.tensor() == t) {
                    Double m = measured.get(p);
                    values.put(p.type(), m != null ? m : law.predict(p.energy()));
                    kinds.put(p.type(), m != null ? Kind.MEASURED : Kind.PREDICTED);
                }
            }
            out.put(t.name(), new MeasuredResults.Tensor(values, kinds));
        }
        return out;
    }

    /**
     * ΔKLD = k0 · (e / e0)^slope through two measured points (e = weight error or output-error energy). To second
     * order the KLD is a quadratic form in the error and the slope is 1; the largest errors reach past second order,
     * which one point cannot see (scaling from Q2_K alone overestimated Q4_K 1.8× on the tiny model, BENCHMARKS.md
     * issue 15). The slope is kept within [0.5, 2] so that two noisy points cannot extrapolate wildly; without two
     * usable points it is 1 through the one that is.
     */
    record PowerLaw(double e0, double k0, double slope) {
        static PowerLaw through(double eHi, double kHi, double eMid, double kMid) {
            boolean midUsable = eMid > 0 && kMid > 0;
            if (midUsable && eHi > eMid && kHi > 0) {
                return new PowerLaw(eMid, kMid, Math.clamp(Math.log(kHi / kMid) / Math.log(eHi / eMid), 0.5, 2.0));
            }
            return midUsable ? new PowerLaw(eMid, kMid, 1) : new PowerLaw(eHi, kHi, 1);
        }

        double predict(double e) {
            return e0 > 0 ? k0 * Math.pow(e / e0, slope) : 0;
        }
    }
}
