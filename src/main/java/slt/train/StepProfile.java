package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import slt.model.Host;

/**
 * Where the time of optimizer steps goes, for {@code slt bench}: mask selection, batch creation,
 * forward (the blocks, up to the final hidden states), backward (the LM head and the loss with their
 * gradients in one fused pass, then the blocks' backward pass), optimizer update. Each
 * phase ends by reading one value on the device, which waits for the work queued there, so GPU
 * phases are not hidden by asynchronous execution (the extra synchronisation makes profiled steps
 * slightly slower than unprofiled ones).
 */
public final class StepProfile {
    /** The phases of a step, in execution order ({@code reduce}: replicas only, summing their gradients and copying scores back). */
    enum Phase { MASK, DATA, FORWARD, BACKWARD, OPTIMIZER, REDUCE }

    private final long[] ns = new long[Phase.values().length];
    private long steps;

    /**
     * Adds the time since {@code since} to {@code phase} of {@code profile}, after waiting for the
     * work queued on {@code device} (when not null: a one-value read on the device, which waits for
     * the kernels queued before it); returns the time it ends. Without a profile, only the time.
     */
    static long lap(StepProfile profile, Phase phase, long since, NDManager device) {
        if (profile == null) {
            return System.nanoTime();
        }
        if (device != null) {
            try (NDArray one = device.zeros(new Shape(1))) {
                Host.value(one);
            }
        }
        long now = System.nanoTime();
        synchronized (profile) { // replicas' threads add to the same profile
            profile.ns[phase.ordinal()] += now - since;
        }
        return now;
    }

    /** Counts one optimizer step (the profile's phases are per step). */
    static void stepDone(StepProfile profile) {
        if (profile != null) {
            profile.steps++;
        }
    }

    /** Seconds per optimizer step by phase, in execution order ({@code reduce} only when it happened). */
    public Map<String, Double> secondsPerStep() {
        Map<String, Double> m = new LinkedHashMap<>();
        double n = Math.max(1, steps);
        for (Phase p : Phase.values()) {
            if (p != Phase.REDUCE || ns[p.ordinal()] > 0) {
                m.put(p.name().toLowerCase(Locale.ROOT), ns[p.ordinal()] / 1e9 / n);
            }
        }
        return m;
    }

    public long steps() {
        return steps;
    }
}
