package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
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
            if (scope == Config.Scope.TENSOR) {
                for (MaskedBlock w : masked) {
                    NDArray a = w.scores().getArray().abs().flatten();
                    masks.add(selectFlat(List.of(a), keep(density, a.size())).get(0).reshape(w.weight().getShape()));
                }
            } else {
                List<NDArray> flat = new ArrayList<>();
                long n = 0;
                for (MaskedBlock w : masked) {
                    NDArray a = w.scores().getArray().abs().flatten();
                    flat.add(a);
                    n += a.size();
                }
                List<NDArray> selected = selectFlat(flat, keep(density, n));
                for (int i = 0; i < masked.size(); i++) {
                    masks.add(selected.get(i).reshape(masked.get(i).weight().getShape()));
                }
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
     * 0/1 float masks over the concatenation of {@code values} (each 1-D, non-negative) that keep
     * exactly the {@code k} largest entries, ties broken towards the lowest concatenated index.
     */
    static List<NDArray> selectFlat(List<NDArray> values, long k) {
        long n = 0;
        for (NDArray v : values) {
            n += v.size();
        }
        List<NDArray> out = new ArrayList<>();
        if (k <= 0 || k >= n) {
            for (NDArray v : values) {
                out.add(k <= 0 ? v.zerosLike() : v.onesLike());
            }
            return out;
        }
        Threshold th = threshold(values, k, n);
        float t = th.t();
        if (th.keptAtT() == k) { // usual case: no other entry equals t, so |s| >= t keeps exactly k
            for (NDArray v : values) {
                out.add(v.gte(t).toType(DataType.FLOAT32, false));
            }
            return out;
        }
        // Ties at t: keep everything above t, then the first entries equal to t in flat order.
        long need = k;
        long[] tieCounts = new long[values.size()];
        List<NDArray> gts = new ArrayList<>();
        List<NDArray> eqs = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            NDArray gt = values.get(i).gt(t);
            NDArray eq = values.get(i).eq(t);
            need -= count(gt);
            tieCounts[i] = count(eq);
            gts.add(gt);
            eqs.add(eq);
        }
        for (int i = 0; i < values.size(); i++) {
            NDArray keep = gts.get(i);
            if (need >= tieCounts[i]) {
                keep = keep.logicalOr(eqs.get(i));
                need -= tieCounts[i];
            } else if (need > 0) {
                NDArray eq = eqs.get(i);
                keep = keep.logicalOr(eq.logicalAnd(eq.toType(DataType.INT64, false).cumSum(0).lte(need)));
                need = 0;
            }
            out.add(keep.toType(DataType.FLOAT32, false));
        }
        return out;
    }

    private static long count(NDArray bool) {
        return bool.sum().getLong();
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

    private static Threshold threshold(List<NDArray> values, long k, long n) {
        NDArray all = values.size() == 1 ? values.get(0) : NDArrays.concat(new NDList(values));
        if (n >= BRACKET_MIN) {
            Threshold t = bracketed(all, k, n);
            if (t != null) {
                return t;
            }
        }
        float t = kthLargest(all, k, n);
        return new Threshold(t, count(all.gte(t)));
    }

    /**
     * The k-th largest by a bracket: a strided sample's order statistics give lo &lt;= t &lt;= hi with
     * high probability; one pass counts the entries above hi and gathers those in [lo, hi], and
     * topk runs on that band only (about 1 % of n). Exact whenever the band holds the k-th
     * largest, which is checked; null (use {@link #kthLargest}) when it does not.
     */
    static Threshold bracketed(NDArray all, long k, long n) {
        long stride = Math.max(1, n / sampleSize(n));
        NDArray sample = all.get(new NDIndex("::" + stride)).sort();
        long ns = sample.size();
        double q = 1 - (double) k / n; // t sits at this quantile
        double margin = 5 * Math.sqrt(ns * q * (1 - q)) + 2;
        float lo = sample.getFloat(Math.max(0, (long) Math.floor(q * ns - margin)));
        float hi = sample.getFloat(Math.min(ns - 1, (long) Math.ceil(q * ns + margin)));
        long above = count(all.gt(hi));
        NDArray band = all.get(all.gte(lo).logicalAnd(all.lte(hi)));
        long r = k - above; // t is the r-th largest of the band
        if (r < 1 || r > band.size()) {
            return null;
        }
        float t = kthLargest(band, r, band.size());
        return new Threshold(t, above + count(band.gte(t)));
    }

    /** The k-th largest value of a 1-D array (1 <= k <= n), by torch topk of the smaller side. */
    static float kthLargest(NDArray all, long k, long n) {
        if (k <= n / 2) {
            return all.topK(Math.toIntExact(k), 0, true, false).get(0).min().getFloat();
        }
        return all.topK(Math.toIntExact(n - k + 1), 0, false, false).get(0).max().getFloat();
    }
}
