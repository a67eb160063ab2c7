package io.falconq.jobs.intquant;

import io.falconq.core.calib.HessianAccumulator;
import io.falconq.core.calib.ImportanceStats;
import io.falconq.core.calib.LinearRole;
import io.falconq.core.parallel.WorkerPool;
import io.falconq.runtime.Tap;
import io.falconq.runtime.TapListener;

import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

/**
 * The statistics of one layer's linear inputs that the methods use, per input group (q/k/v/in_proj share one, as do
 * gate/up), each when asked: the importance (mean x², mean |x|) and the GPTQ Hessian {@code 2/n · Σ x xᵀ}. A
 * {@link TapListener} over the forward's taps; only the groups asked for are collected, so a part range can be run
 * for exactly the group whose linears are quantized next.
 */
final class InputStatistics implements TapListener {
    private final int layer;
    private final Set<LinearRole.InputGroup> groups;
    private final boolean hessians;
    private final boolean collectImportance;
    private final WorkerPool pool;
    private final Map<LinearRole.InputGroup, ImportanceStats> importance = new EnumMap<>(LinearRole.InputGroup.class);
    private final Map<LinearRole.InputGroup, HessianAccumulator> hessian = new EnumMap<>(LinearRole.InputGroup.class);

    InputStatistics(int layer, Set<LinearRole.InputGroup> groups, boolean hessians, WorkerPool pool) {
        this(layer, groups, hessians, true, pool);
    }

    /**
     * {@code importance}: whether to collect the importance too (GPTQ reads only the Hessian, and the importance's
     * per-value pass runs on the job's thread alone).
     */
    InputStatistics(int layer, Set<LinearRole.InputGroup> groups, boolean hessians, boolean importance,
                    WorkerPool pool) {
        this.layer = layer;
        this.groups = groups;
        this.hessians = hessians;
        this.collectImportance = importance;
        this.pool = pool;
    }

    @Override
    public void onTap(Tap tap, int layer, float[] data, int rows, int cols) {
        if (layer != this.layer || tap.readers().isEmpty()) {
            return;
        }
        LinearRole.InputGroup g = tap.readers().getFirst().inputGroup();
        if (!groups.contains(g)) {
            return;
        }
        if (collectImportance) {
            importance.computeIfAbsent(g, k -> new ImportanceStats(tap.referenceName(layer), cols))
                    .add(data, rows, cols);
        }
        if (hessians) {
            hessian.computeIfAbsent(g, k -> new HessianAccumulator(cols)).add(data, rows, cols, pool);
        }
    }

    /** Importance of the input of {@code role}; fails if that input was not observed. */
    ImportanceStats importance(LinearRole role) {
        ImportanceStats s = importance.get(role.inputGroup());
        if (s == null) {
            throw new IllegalStateException("layer " + layer + ": no calibration activations for " + role);
        }
        return s;
    }

    /** Hessian of the input of {@code role}; fails if not collected. */
    HessianAccumulator hessian(LinearRole role) {
        HessianAccumulator h = hessian.get(role.inputGroup());
        if (h == null) {
            throw new IllegalStateException("layer " + layer + ": no Hessian for " + role);
        }
        return h;
    }

    /** Frees a group's Hessian once its linears are quantized (the largest are in² doubles). */
    void release(LinearRole.InputGroup g) {
        hessian.remove(g);
    }
}
