package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import slt.config.Config;

/**
 * Computes edge-popup masks: exactly {@code k = round(density * n)} entries with the largest
 * |score| are kept, per tensor or under one global threshold. Exact ties at the threshold go to
 * the lowest flat index (in tensor order for the global scope), the same on every device.
 *
 * <p>Method: t = the k-th largest |score|: for large tensors from a bracket (a strided sample
 * brackets t, one pass gathers the band, topk runs on the band), otherwise, or when the bracket
 * misses, torch {@code topk} of the smaller side. Keep |s| &gt;= t, which is exactly k entries
 * unless other entries tie with t; then keep |s| &gt; t and, of the entries equal to t, the first
 * {@code k - #(|s| &gt; t)} by a cumulative count.
 *
 * <p>The host waits for the device only where it must, and for all tensors at once: one read of
 * the counts above every bracket, one gather per bracketed tensor (its band's size is known only
 * on the device), one read of the counts at every threshold, and one of the tie counts when some
 * threshold is tied. Thresholds stay on the device.
 */
public final class MaskSelector {
    private MaskSelector() {}

    /** Recomputes the mask of every MASKED weight (call once per optimizer step, outside autograd). */
    public static void update(List<MaskedBlock> weights, double density, Config.Scope scope) {
        List<MaskedBlock> masked = new ArrayList<>();
        for (MaskedBlock w : weights) {
            if (w.role() == MaskedBlock.Role.MASKED) {
                masked.add(w);
            }
        }
        if (masked.isEmpty()) {
            return;
        }
        List<NDArray> masks = new ArrayList<>();
        try (NDScope scope0 = new NDScope()) {
            List<Selection> selections = new ArrayList<>();
            List<NDArray> flat = new ArrayList<>();
            long n = 0;
            for (MaskedBlock w : masked) {
                NDArray a = w.scores().getArray().abs().flatten();
                flat.add(a);
                n += a.size();
                if (scope == Config.Scope.TENSOR) {
                    selections.add(new Selection(List.of(a), keep(density, a.size())));
                }
            }
            if (scope != Config.Scope.TENSOR) {
                selections.add(new Selection(flat, keep(density, n)));
            }
            List<NDArray> selected = new ArrayList<>();
            select(selections).forEach(selected::addAll);
            for (int i = 0; i < masked.size(); i++) {
                masks.add(selected.get(i).reshape(masked.get(i).weight().getShape()));
            }
            for (NDArray m : masks) {
                NDScope.unregister(m);
            }
        }
        for (int i = 0; i < masked.size(); i++) {
            masked.get(i).setMask(masks.get(i));
        }
    }

    /** k = round(density * n), half up. */
    public static long keep(double density, long n) {
        return Math.round(density * n);
    }

    /**
     * Boolean masks over the concatenation of {@code values} (each 1-D, non-negative) that keep
     * exactly the {@code k} largest entries, ties broken towards the lowest concatenated index.
     */
    static List<NDArray> selectFlat(List<NDArray> values, long k) {
        return select(List.of(new Selection(values, k))).get(0);
    }

    /** One exact top-k selection over the concatenation of some 1-D arrays, worked through in stages. */
    static final class Selection {
        final List<NDArray> values;
        final long k;
        final long n;
        NDArray all;
        NDArray lo;
        NDArray hi;
        NDArray above; // #(all > hi), int64 on the device
        NDArray t; // the k-th largest, on the device
        NDArray keptAtT; // #(all >= t), int64 on the device
        final List<NDArray> gts = new ArrayList<>(); // per value: v > t, v == t (only when t is tied)
        final List<NDArray> eqs = new ArrayList<>();

        Selection(List<NDArray> values, long k) {
            this.values = values;
            this.k = k;
            long size = 0;
            for (NDArray v : values) {
                size += v.size();
            }
            this.n = size;
        }

        boolean trivial() {
            return k <= 0 || k >= n;
        }

        boolean large() {
            return !trivial() && n >= BRACKET_MIN;
        }

        NDArray all() {
            if (all == null) {
                all = values.size() == 1 ? values.get(0) : NDArrays.concat(new NDList(values));
            }
            return all;
        }

        /**
         * The bracket, all on the device: a strided sample's order statistics give lo &lt;= t &lt;= hi
         * with high probability; counts the entries above hi.
         */
        void bracket() {
            long stride = Math.max(1, n / sampleSize(n));
            NDArray sample = all().get(new NDIndex("::" + stride)).sort();
            long ns = sample.size();
            double q = 1 - (double) k / n; // t sits at this quantile
            double margin = 5 * Math.sqrt(ns * q * (1 - q)) + 2;
            lo = sample.get(Math.max(0, (long) Math.floor(q * ns - margin)));
            hi = sample.get(Math.min(ns - 1, (long) Math.ceil(q * ns + margin)));
            above = all().gt(hi).sum();
        }

        /**
         * t from the band [lo, hi] (about 1 % of n), given the count above it read on the host:
         * exact whenever the band holds the k-th largest, which is checked; false when it does not.
         */
        boolean fromBand(long aboveHi) {
            long r = k - aboveHi; // t is the r-th largest of the band
            if (r < 1) {
                return false;
            }
            NDArray band = all().get(all().gte(lo).logicalAnd(all().lte(hi))); // the host learns its size: a wait
            if (r > band.size()) {
                return false;
            }
            t = kthLargestOnDevice(band, r, band.size());
            keptAtT = band.gte(t).sum().add(above);
            return true;
        }

        /** t by topk over everything. */
        void fromAll() {
            t = kthLargestOnDevice(all(), k, n);
            keptAtT = all().gte(t).sum();
        }

        /** Whether entries other than the k largest equal t (given #(all >= t) read on the host). */
        boolean tied(long keptAtTValue) {
            return !trivial() && keptAtTValue != k;
        }

        /** Per value: #(v > t) and #(v == t), on the device (for {@link #tieMasks}). */
        List<NDArray> tieCounts() {
            List<NDArray> counts = new ArrayList<>();
            for (NDArray v : values) {
                NDArray gt = v.gt(t);
                NDArray eq = v.eq(t);
                gts.add(gt);
                eqs.add(eq);
                counts.add(gt.sum());
                counts.add(eq.sum());
            }
            return counts;
        }

        /** The masks when no entry ties with t: |s| &gt;= t, exactly k entries. */
        List<NDArray> masks() {
            List<NDArray> out = new ArrayList<>();
            for (NDArray v : values) {
                out.add(trivial() ? (k <= 0 ? v.zerosLike() : v.onesLike()).toType(DataType.BOOLEAN, false) : v.gte(t));
            }
            return out;
        }

        /**
         * The masks when entries tie with t, given {@link #tieCounts} read on the host (from
         * {@code c[from]} on): everything above t, then the first entries equal to t in flat order.
         */
        List<NDArray> tieMasks(double[] c, int from) {
            long need = k;
            for (int i = 0; i < values.size(); i++) {
                need -= (long) c[from + 2 * i];
            }
            List<NDArray> out = new ArrayList<>();
            for (int i = 0; i < values.size(); i++) {
                long ties = (long) c[from + 2 * i + 1];
                NDArray keep = gts.get(i);
                if (need >= ties) {
                    keep = keep.logicalOr(eqs.get(i));
                    need -= ties;
                } else if (need > 0) {
                    NDArray eq = eqs.get(i);
                    keep = keep.logicalOr(eq.logicalAnd(eq.toType(DataType.INT64, false).cumSum(0).lte(count(eq, need))));
                    need = 0;
                }
                out.add(keep);
            }
            return out;
        }

        /** An int64 device scalar: filled on the device when a float holds it exactly (no upload). */
        private static NDArray count(NDArray like, long value) {
            return value <= (1L << 24) ? like.getManager().full(new Shape(), value, DataType.INT64)
                    : like.getManager().create(value);
        }
    }

    /**
     * Runs every selection in stages, so that the host waits for the device a fixed number of times
     * plus once per bracketed tensor, however many tensors there are: the counts above the brackets,
     * one gather per bracket, the counts at the thresholds, and (only when some threshold is tied)
     * the tie counts.
     */
    static List<List<NDArray>> select(List<Selection> selections) {
        List<Selection> large = new ArrayList<>();
        for (Selection s : selections) {
            if (s.large()) {
                s.bracket();
                large.add(s);
            }
        }
        double[] above = Host.stacked(large.stream().map(s -> s.above).toList()); // wait 1: all brackets
        List<NDArray> kept = new ArrayList<>();
        for (Selection s : selections) {
            if (s.trivial()) {
                continue;
            }
            int i = large.indexOf(s);
            if (i < 0 || !s.fromBand((long) above[i])) {
                s.fromAll();
            }
            kept.add(s.keptAtT);
        }
        double[] keptAtT = Host.stacked(kept); // wait 2: all counts at the thresholds
        List<Selection> tied = new ArrayList<>();
        List<NDArray> tieCounts = new ArrayList<>();
        int j = 0;
        for (Selection s : selections) {
            if (!s.trivial() && s.tied((long) keptAtT[j++])) {
                tied.add(s);
                tieCounts.addAll(s.tieCounts());
            }
        }
        double[] c = Host.stacked(tieCounts); // wait 3, only when some tensor has ties at its threshold
        List<List<NDArray>> out = new ArrayList<>();
        int from = 0;
        for (Selection s : selections) {
            if (tied.contains(s)) {
                out.add(s.tieMasks(c, from));
                from += 2 * s.values.size();
            } else {
                out.add(s.masks());
            }
        }
        return out;
    }

    /** The k-th largest value t of the concatenation and how many entries are &gt;= t. */
    record Threshold(float t, long keptAtT) {}

    /** Below this many values, a plain topk is as fast as the bracket (measured, docs/BENCHMARKS.md). */
    static final long BRACKET_MIN = 1L << 19;

    /**
     * Values in the sample that brackets the threshold: about 8 sqrt(n), which balances sorting the
     * sample against the band it leaves (about 4.6 n / sqrt(sample) entries) for topk
     * (docs/BENCHMARKS.md, "The mask").
     */
    static long sampleSize(long n) {
        return Math.max(1L << 12, Math.min(1L << 17, (long) (8 * Math.sqrt(n))));
    }

    /** The bracket alone on one array (tests): the threshold it finds, or null when the band misses t. */
    static Threshold bracketed(NDArray all, long k, long n) {
        try (NDScope ignored = new NDScope()) {
            Selection s = new Selection(List.of(all), k);
            s.bracket();
            if (!s.fromBand((long) Host.value(s.above))) {
                return null;
            }
            return new Threshold((float) Host.value(s.t), Host.longValue(s.keptAtT));
        }
    }

    /** The k-th largest value of a 1-D array (1 <= k <= n), read on the host (tests). */
    static float kthLargest(NDArray all, long k, long n) {
        try (NDScope ignored = new NDScope()) {
            return (float) Host.value(kthLargestOnDevice(all, k, n));
        }
    }

    /** The k-th largest value of a 1-D array (1 <= k <= n) as a device scalar, by torch topk of the smaller side. */
    static NDArray kthLargestOnDevice(NDArray all, long k, long n) {
        if (k <= n / 2) {
            return all.topK(Math.toIntExact(k), 0, true, false).get(0).min();
        }
        return all.topK(Math.toIntExact(n - k + 1), 0, false, false).get(0).max();
    }
}
