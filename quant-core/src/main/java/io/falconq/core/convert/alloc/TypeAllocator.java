package io.falconq.core.convert.alloc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Chooses one option per tensor minimising the summed ΔKLD with the summed cost at most the budget (a multiple-choice
 * knapsack). Exact dynamic programming over the budget in units of the greatest common divisor of the cost steps when
 * that table is small (the tiny model: ~40 tensors × ~10⁵ units); otherwise the Lagrangian greedy — each tensor's
 * options reduced to their lower convex hull, upgrades taken in order of ΔKLD saved per byte while they fit — followed
 * by exchange repair (single and paired moves that lower the total and still fit). Deterministic: ties go to the
 * cheaper option and the earlier tensor.
 */
public final class TypeAllocator {
    /** DP cells (tensors × budget units, one byte each) up to which the exact solver runs. */
    static final long EXACT_CELLS = 48L << 20;

    /** Repair moves must save more than this (nats/token) to count, so rounding noise cannot cycle. */
    private static final double MIN_GAIN = 1e-15;

    /**
     * @param choice index into each tensor's {@link TensorChoice#options()}
     * @param cost   summed cost
     * @param deltaKld summed ΔKLD
     * @param exact  whether the dynamic program proved it optimal
     */
    public record Result(int[] choice, long cost, double deltaKld, boolean exact) {
        public Result {
            choice = choice.clone();
        }

        @Override
        public int[] choice() {
            return choice.clone();
        }
    }

    private TypeAllocator() {
    }

    /** The cheapest total any choice can reach. */
    public static long minimumCost(List<TensorChoice> items) {
        long sum = 0;
        for (TensorChoice t : items) {
            sum = Math.addExact(sum, t.options().stream().mapToLong(TensorChoice.Option::cost).min().orElseThrow());
        }
        return sum;
    }

    /** Solves; {@code budget} below {@link #minimumCost} is an {@link IllegalArgumentException}. */
    public static Result solve(List<TensorChoice> items, long budget) {
        long min = minimumCost(items);
        if (min > budget) {
            throw new IllegalArgumentException("the budget is " + budget + " but the cheapest choice needs " + min);
        }
        long step = 0;
        long maxExtra = 0;
        for (TensorChoice t : items) {
            long base = cheapest(t);
            long most = 0;
            for (TensorChoice.Option o : t.options()) {
                step = gcd(step, o.cost() - base);
                most = Math.max(most, o.cost() - base);
            }
            maxExtra += most;
        }
        if (step == 0) {
            return finish(items, bestAtCheapest(items), true);
        }
        long units = Math.min((budget - min) / step, maxExtra / step);
        if ((long) items.size() * (units + 1) <= EXACT_CELLS) {
            return finish(items, exact(items, step, (int) units), true);
        }
        return finish(items, lagrangian(items, budget), false);
    }

    /** The solver for large tables: greedy over the hulls, then exchange repair. */
    static int[] lagrangian(List<TensorChoice> items, long budget) {
        int[] choice = greedy(items, budget);
        repair(items, choice, budget);
        return choice;
    }

    private static int[] exact(List<TensorChoice> items, long step, int units) {
        int n = items.size();
        byte[][] pick = new byte[n][units + 1];
        double[] best = new double[units + 1];
        double[] next = new double[units + 1];
        for (int i = 0; i < n; i++) {
            List<TensorChoice.Option> opts = items.get(i).options();
            Integer[] order = byCost(opts);
            long base = cheapest(items.get(i));
            Arrays.fill(next, Double.POSITIVE_INFINITY);
            for (int k : order) {
                int w = (int) ((opts.get(k).cost() - base) / step);
                double v = opts.get(k).deltaKld();
                for (int u = w; u <= units; u++) {
                    double candidate = best[u - w] + v;
                    if (candidate < next[u]) {
                        next[u] = candidate;
                        pick[i][u] = (byte) k;
                    }
                }
            }
            double[] swap = best;
            best = next;
            next = swap;
        }
        int[] choice = new int[n];
        int u = units;
        for (int i = n - 1; i >= 0; i--) {
            int k = pick[i][u];
            choice[i] = k;
            u -= (int) ((items.get(i).options().get(k).cost() - cheapest(items.get(i))) / step);
        }
        return choice;
    }

    /** Lagrangian greedy over each tensor's lower convex hull of (cost, ΔKLD). */
    private static int[] greedy(List<TensorChoice> items, long budget) {
        int n = items.size();
        int[][] hulls = new int[n][];
        int[] at = new int[n];
        long remaining = budget;
        for (int i = 0; i < n; i++) {
            hulls[i] = hull(items.get(i).options());
            remaining -= items.get(i).options().get(hulls[i][0]).cost();
        }
        PriorityQueue<double[]> upgrades = new PriorityQueue<>(
                Comparator.<double[]>comparingDouble(a -> a[0]).thenComparingDouble(a -> a[1]));
        for (int i = 0; i < n; i++) {
            offer(upgrades, items.get(i).options(), hulls[i], 0, i);
        }
        while (!upgrades.isEmpty()) {
            int i = (int) upgrades.poll()[1];
            List<TensorChoice.Option> opts = items.get(i).options();
            long extra = opts.get(hulls[i][at[i] + 1]).cost() - opts.get(hulls[i][at[i]]).cost();
            if (extra <= remaining) {
                remaining -= extra;
                at[i]++;
                offer(upgrades, opts, hulls[i], at[i], i);
            }
        }
        int[] choice = new int[n];
        for (int i = 0; i < n; i++) {
            choice[i] = hulls[i][at[i]];
        }
        return choice;
    }

    private static void offer(PriorityQueue<double[]> q, List<TensorChoice.Option> opts, int[] hull, int at, int i) {
        if (at + 1 < hull.length) {
            TensorChoice.Option a = opts.get(hull[at]);
            TensorChoice.Option b = opts.get(hull[at + 1]);
            q.add(new double[] {(b.deltaKld() - a.deltaKld()) / (b.cost() - a.cost()), i});
        }
    }

    /** Indices of the options on the lower convex hull, by increasing cost (strictly decreasing ΔKLD). */
    static int[] hull(List<TensorChoice.Option> opts) {
        List<Integer> h = new ArrayList<>();
        for (int k : byCost(opts)) {
            TensorChoice.Option o = opts.get(k);
            if (!h.isEmpty()) {
                TensorChoice.Option last = opts.get(h.getLast());
                if (o.cost() == last.cost() || o.deltaKld() >= last.deltaKld()) {
                    continue;
                }
            }
            while (h.size() >= 2) {
                TensorChoice.Option a = opts.get(h.get(h.size() - 2));
                TensorChoice.Option b = opts.get(h.getLast());
                // b is above the segment a→o: saving per byte would rise after b, so b is not on the hull
                double slopeAb = (b.deltaKld() - a.deltaKld()) / (b.cost() - a.cost());
                double slopeAo = (o.deltaKld() - a.deltaKld()) / (o.cost() - a.cost());
                if (slopeAo <= slopeAb) {
                    h.removeLast();
                } else {
                    break;
                }
            }
            h.add(k);
        }
        return h.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Exchange repair: the best single or paired change that fits and lowers the total, until none does. */
    private static void repair(List<TensorChoice> items, int[] choice, long budget) {
        int n = items.size();
        for (int round = 0; round < 4 * n + 16; round++) {
            long remaining = budget - cost(items, choice);
            double bestGain = -MIN_GAIN;
            int bi = -1, bk = -1, bj = -1, bl = -1;
            for (int i = 0; i < n; i++) {
                List<TensorChoice.Option> oi = items.get(i).options();
                TensorChoice.Option ci = oi.get(choice[i]);
                for (int k = 0; k < oi.size(); k++) {
                    long dc = oi.get(k).cost() - ci.cost();
                    double dv = oi.get(k).deltaKld() - ci.deltaKld();
                    if (k == choice[i]) {
                        continue;
                    }
                    if (dc <= remaining && dv < bestGain) {
                        bestGain = dv;
                        bi = i; bk = k; bj = -1;
                    }
                    if (dv >= 0) {
                        continue;  // pairs: one tensor improves, another pays for it
                    }
                    for (int j = 0; j < n; j++) {
                        if (j == i) {
                            continue;
                        }
                        List<TensorChoice.Option> oj = items.get(j).options();
                        TensorChoice.Option cj = oj.get(choice[j]);
                        for (int l = 0; l < oj.size(); l++) {
                            long dc2 = dc + oj.get(l).cost() - cj.cost();
                            double dv2 = dv + oj.get(l).deltaKld() - cj.deltaKld();
                            if (l != choice[j] && dc2 <= remaining && dv2 < bestGain) {
                                bestGain = dv2;
                                bi = i; bk = k; bj = j; bl = l;
                            }
                        }
                    }
                }
            }
            if (bi < 0) {
                return;
            }
            choice[bi] = bk;
            if (bj >= 0) {
                choice[bj] = bl;
            }
        }
    }

    private static int[] bestAtCheapest(List<TensorChoice> items) {
        int[] choice = new int[items.size()];
        for (int i = 0; i < items.size(); i++) {
            choice[i] = byCost(items.get(i).options())[0];
        }
        return choice;
    }

    private static Result finish(List<TensorChoice> items, int[] choice, boolean exact) {
        double sum = 0;
        for (int i = 0; i < items.size(); i++) {
            sum += items.get(i).options().get(choice[i]).deltaKld();
        }
        return new Result(choice, cost(items, choice), sum, exact);
    }

    private static long cost(List<TensorChoice> items, int[] choice) {
        long c = 0;
        for (int i = 0; i < items.size(); i++) {
            c += items.get(i).options().get(choice[i]).cost();
        }
        return c;
    }

    /** Option indices by cost, then ΔKLD, then position. */
    private static Integer[] byCost(List<TensorChoice.Option> opts) {
        Integer[] order = new Integer[opts.size()];
        for (int k = 0; k < order.length; k++) {
            order[k] = k;
        }
        Arrays.sort(order, Comparator.<Integer>comparingLong(k -> opts.get(k).cost())
                .thenComparingDouble(k -> opts.get(k).deltaKld()).thenComparingInt(k -> k));
        return order;
    }

    private static long cheapest(TensorChoice t) {
        return t.options().stream().mapToLong(TensorChoice.Option::cost).min().orElseThrow();
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return Math.abs(a);
    }
}
