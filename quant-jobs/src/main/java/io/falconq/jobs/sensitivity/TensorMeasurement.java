package io.falconq.jobs.sensitivity;

import io.falconq.convert.PlannedTensor;
import io.falconq.convert.alloc.SensitivityTable.Kind;
import io.falconq.formats.gguf.GgmlType;
import io.falconq.parallel.WorkerPool;
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
     * The candidate with the largest importance-weighted weight error measured end to end, the others predicted as
     * that ΔKLD times their error over its error (to second order the KLD is a quadratic form in the tensor's error,
     * and the imatrix-weighted error is that form's diagonal approximation within one tensor).
     */
    private MeasuredResults.Tensor probe(CandidateTypes.Tensor t) {
        WeightMatrix reference = candidates.reference(t);
        float[] weights = CandidateTypes.importance(t);
        Map<GgmlType, Double> error = new EnumMap<>(GgmlType.class);
        GgmlType probe = null;
        WeightMatrix probeMatrix = null;
        for (Map.Entry<GgmlType, PlannedTensor> c : t.byType().entrySet()) {
            WeightMatrix m = candidates.encode(c.getValue());
            error.put(c.getKey(), WeightError.weighted(reference, m, weights, pool));
            if (probe == null || error.get(c.getKey()) > error.get(probe)) {
                probe = c.getKey();
                probeMatrix = m;
            }
        }
        double measured = kld.meanKld(t.role(), probeMatrix) - floor;
        return scaled(error, probe, measured);
    }

    /**
     * One layer: every (tensor, type) run through that layer alone for its output-error energy; the largest measured
     * end to end; the rest scaled by the layer's gain (its ΔKLD over its energy).
     */
    private Map<String, MeasuredResults.Tensor> layerGain(List<CandidateTypes.Tensor> layer) {
        Map<CandidateTypes.Tensor, Map<GgmlType, Double>> energy = new LinkedHashMap<>();
        CandidateTypes.Tensor anchor = null;
        GgmlType anchorType = null;
        WeightMatrix anchorMatrix = null;
        double anchorEnergy = -1;
        for (CandidateTypes.Tensor t : layer) {
            Map<GgmlType, Double> e = new EnumMap<>(GgmlType.class);
            for (Map.Entry<GgmlType, PlannedTensor> c : t.byType().entrySet()) {
                WeightMatrix m = candidates.encode(c.getValue());
                e.put(c.getKey(), kld.layerOutputError(t.role(), m));
                if (e.get(c.getKey()) > anchorEnergy) {
                    anchorEnergy = e.get(c.getKey());
                    anchor = t;
                    anchorType = c.getKey();
                    anchorMatrix = m;
                }
            }
            energy.put(t, e);
        }
        double measured = kld.meanKld(anchor.role(), anchorMatrix) - floor;
        double gain = anchorEnergy > 0 ? measured / anchorEnergy : 0;
        Map<String, MeasuredResults.Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<CandidateTypes.Tensor, Map<GgmlType, Double>> t : energy.entrySet()) {
            Map<GgmlType, Double> values = new EnumMap<>(GgmlType.class);
            Map<GgmlType, Kind> kinds = new EnumMap<>(GgmlType.class);
            for (Map.Entry<GgmlType, Double> e : t.getValue().entrySet()) {
                boolean isAnchor = t.getKey() == anchor && e.getKey() == anchorType;
                values.put(e.getKey(), isAnchor ? measured : gain * e.getValue());
                kinds.put(e.getKey(), isAnchor ? Kind.MEASURED : Kind.PREDICTED);
            }
            out.put(t.getKey().name(), new MeasuredResults.Tensor(values, kinds));
        }
        return out;
    }

    /** {@code measured} for {@code probe}, the other types scaled by their error over its error. */
    private static MeasuredResults.Tensor scaled(Map<GgmlType, Double> error, GgmlType probe, double measured) {
        Map<GgmlType, Double> values = new EnumMap<>(GgmlType.class);
        Map<GgmlType, Kind> kinds = new EnumMap<>(GgmlType.class);
        for (Map.Entry<GgmlType, Double> e : error.entrySet()) {
            boolean isProbe = e.getKey() == probe;
            values.put(e.getKey(), isProbe ? measured
                    : error.get(probe) > 0 ? measured * e.getValue() / error.get(probe) : 0);
            kinds.put(e.getKey(), isProbe ? Kind.MEASURED : Kind.PREDICTED);
        }
        return new MeasuredResults.Tensor(values, kinds);
    }
}
