package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import slt.config.Config;

/**
 * Computes edge-popup masks: exactly {@code k = round(density * n)} entries with the largest
 * |score| are kept, per tensor or under one global threshold. Exact ties at the threshold go to
 * the lowest flat index (in tensor order for the global scope), the same on every device.
 *
 * <p>Method ({@link Kernels#topMasks}): t = the k-th largest |score|, by a radix select over the
 * bits of |score|; keep |s| &gt;= t, which is exactly k entries unless other entries tie with t;
 * then ({@link Kernels#tieMasks}) keep |s| &gt; t and, of the entries equal to t, the first
 * {@code k - #(|s| &gt; t)} by a cumulative count.
 *
 * <p>The host waits for the device once per optimizer step, for all tensors at once: one read of
 * the counts at every threshold, to learn which selections tie. Thresholds stay on the device.
 */
public final class MaskSelector {
    private MaskSelector() {}

    /** Recomputes the mask of every MASKED weight (call once per optimizer step, outside autograd). */
    public static void update(Kernels kernels, List<MaskedBlock> weights, double density, Config.Scope scope) {
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
        try (NDScope ignored = new NDScope()) {
            List<Selection> selections = new ArrayList<>();
            List<NDArray> all = new ArrayList<>();
            long n = 0;
            for (MaskedBlock w : masked) {
                NDArray s = w.scores().getArray();
                all.add(s);
                n += s.size();
                if (scope == Config.Scope.TENSOR) {
                    selections.add(new Selection(List.of(s), keep(density, s.size())));
                }
            }
            if (scope != Config.Scope.TENSOR) {
                selections.add(new Selection(all, keep(density, n)));
            }
            select(kernels, selections, !all.get(0).getDevice().isGpu()).forEach(masks::addAll);
            for (NDArray m : masks) {
                NDScope.unregister(m);
            }
        }
        for (int i = 0; i < masked.size(); i++) {
            masked.get(i).setMask(kernels, masks.get(i));
        }
    }

    /** k = round(density * n), half up. */
    public static long keep(double density, long n) {
        return Math.round(density * n);
    }

    /** The k entries of the largest |value| over the concatenation of {@code values}, ranked together. */
    record Selection(List<NDArray> values, long k) {
        long n() {
            return values.stream().mapToLong(NDArray::size).sum();
        }

        boolean trivial() {
            return k <= 0 || k >= n();
        }

        /** All or nothing, for k outside (0, n). */
        List<NDArray> trivialMasks() {
            List<NDArray> out = new ArrayList<>();
            for (NDArray v : values) {
                out.add((k <= 0 ? v.zerosLike() : v.onesLike()).toType(DataType.BOOLEAN, false));
            }
            return out;
        }
    }

    /**
     * Boolean masks, one per value of each selection, in the values' shapes. The host waits once,
     * for the counts at every threshold; the masks of selections whose threshold is tied are then
     * fixed by {@link Kernels#tieMasks}. {@code mayWait}: whether the radix select may gather on the
     * device (a CPU) or must keep fixed shapes (a GPU).
     */
    static List<List<NDArray>> select(Kernels kernels, List<Selection> selections, boolean mayWait) {
        List<Kernels.TopMasks> top = new ArrayList<>();
        List<NDArray> kept = new ArrayList<>();
        for (Selection s : selections) {
            Kernels.TopMasks t = s.trivial() ? null : kernels.topMasks(s.values(), s.k(), mayWait);
            top.add(t);
            if (t != null) {
                kept.add(t.kept());
            }
        }
        double[] keptAtT = Host.stacked(kept); // the one wait: which thresholds are tied
        List<List<NDArray>> out = new ArrayList<>();
        int j = 0;
        for (int i = 0; i < selections.size(); i++) {
            Selection s = selections.get(i);
            Kernels.TopMasks t = top.get(i);
            if (t == null) {
                out.add(s.trivialMasks());
            } else if ((long) keptAtT[j++] == s.k()) {
                out.add(t.masks());
            } else {
                out.add(kernels.tieMasks(s.values(), t.masks(), t.threshold(), s.k(), t.greater(), mayWait));
            }
        }
        return out;
    }

    /** The masks of one selection (tests). */
    static NDList selectOne(Kernels kernels, List<NDArray> values, long k, boolean mayWait) {
        return new NDList(select(kernels, List.of(new Selection(values, k)), mayWait).get(0));
    }
}
