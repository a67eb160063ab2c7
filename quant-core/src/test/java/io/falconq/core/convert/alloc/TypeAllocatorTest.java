package io.falconq.core.convert.alloc;

import io.falconq.formats.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TypeAllocatorTest {
    private static final GgmlType[] TYPES = {GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K,
            GgmlType.Q6_K, GgmlType.Q8_0};

    /** Random instances: costs multiples of 32 (GGUF padding), ΔKLD mostly falling with cost, with noise and negatives. */
    private static List<TensorChoice> instance(Random rnd, int tensors) {
        List<TensorChoice> items = new ArrayList<>();
        for (int i = 0; i < tensors; i++) {
            List<TensorChoice.Option> opts = new ArrayList<>();
            long cost = 32L * (1 + rnd.nextInt(40));
            double v = rnd.nextDouble() * 1e-2;
            int k = 1 + rnd.nextInt(TYPES.length);
            for (int j = 0; j < k; j++) {
                opts.add(new TensorChoice.Option(TYPES[j], cost, v));
                cost += 32L * (1 + rnd.nextInt(30));
                v = v * rnd.nextDouble() - (rnd.nextInt(10) == 0 ? 1e-4 : 0);
            }
            items.add(new TensorChoice("t" + i, opts));
        }
        return items;
    }

    /** Every combination: the independent reference for the dynamic program. */
    private static double bruteForce(List<TensorChoice> items, long budget) {
        double[] best = {Double.POSITIVE_INFINITY};
        enumerate(items, 0, 0, 0, budget, best);
        return best[0];
    }

    private static void enumerate(List<TensorChoice> items, int i, long cost, double v, long budget, double[] best) {
        if (cost > budget) {
            return;
        }
        if (i == items.size()) {
            best[0] = Math.min(best[0], v);
            return;
        }
        for (TensorChoice.Option o : items.get(i).options()) {
            enumerate(items, i + 1, cost + o.cost(), v + o.deltaKld(), budget, best);
        }
    }

    @Test
    void exactSolverMatchesExhaustiveSearch() {
        Random rnd = new Random(15);
        for (int trial = 0; trial < 200; trial++) {
            List<TensorChoice> items = instance(rnd, 1 + rnd.nextInt(7));
            long min = TypeAllocator.minimumCost(items);
            long budget = min + rnd.nextInt(2000);
            TypeAllocator.Result r = TypeAllocator.solve(items, budget);
            assertTrue(r.exact());
            assertTrue(r.cost() <= budget, "over budget");
            // the two sums add the same doubles in a different order
            assertEquals(bruteForce(items, budget), r.deltaKld(), 1e-15, "trial " + trial);
        }
    }

    /**
     * The hull greedy with repair is feasible, never beats the optimum, and loses at most the ΔKLD range of one tensor
     * (the LP relaxation of a multiple-choice knapsack has at most one fractional tensor).
     */
    @Test
    void lagrangianSolverIsWithinOneTensorOfTheOptimum() {
        Random rnd = new Random(4);
        for (int trial = 0; trial < 100; trial++) {
            List<TensorChoice> items = instance(rnd, 5 + rnd.nextInt(30));
            long budget = TypeAllocator.minimumCost(items) + rnd.nextInt(20000);
            double optimum = TypeAllocator.solve(items, budget).deltaKld();
            int[] choice = TypeAllocator.lagrangian(items, budget);
            long cost = 0;
            double v = 0;
            double widest = 0;
            for (int i = 0; i < items.size(); i++) {
                TensorChoice.Option o = items.get(i).options().get(choice[i]);
                cost += o.cost();
                v += o.deltaKld();
                double lo = items.get(i).options().stream().mapToDouble(TensorChoice.Option::deltaKld).min().orElseThrow();
                double hi = items.get(i).options().stream().mapToDouble(TensorChoice.Option::deltaKld).max().orElseThrow();
                widest = Math.max(widest, hi - lo);
            }
            assertTrue(cost <= budget, "over budget");
            assertTrue(v >= optimum - 1e-15, "better than the optimum?");
            assertTrue(v <= optimum + widest + 1e-15, "trial " + trial + ": " + v + " vs " + optimum);
        }
    }

    @Test
    void hullDropsDominatedAndConcavePoints() {
        List<TensorChoice.Option> opts = List.of(
                new TensorChoice.Option(GgmlType.Q2_K, 100, 10),
                new TensorChoice.Option(GgmlType.Q3_K, 200, 9.5),  // above the segment Q2_K -> Q4_K: not on the hull
                new TensorChoice.Option(GgmlType.Q4_K, 300, 4),
                new TensorChoice.Option(GgmlType.Q5_K, 400, 5),    // dominated by Q4_K
                new TensorChoice.Option(GgmlType.Q6_K, 500, 3));
        assertArrayEquals(new int[] {0, 2, 4}, TypeAllocator.hull(opts));
    }

    @Test
    void refusesABudgetBelowTheCheapestChoice() {
        List<TensorChoice> items = List.of(new TensorChoice("a", List.of(new TensorChoice.Option(GgmlType.Q2_K, 64, 1))));
        assertThrows(IllegalArgumentException.class, () -> TypeAllocator.solve(items, 63));
    }

    @Test
    void sameInputSameChoice() {
        List<TensorChoice> items = instance(new Random(7), 30);
        long budget = TypeAllocator.minimumCost(items) + 5000;
        assertArrayEquals(TypeAllocator.solve(items, budget).choice(), TypeAllocator.solve(items, budget).choice());
        assertArrayEquals(TypeAllocator.lagrangian(items, budget), TypeAllocator.lagrangian(items, budget));
    }
}
