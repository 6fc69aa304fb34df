package slt.train;

import ai.djl.ndarray.NDArray;
import java.util.LinkedHashMap;
import java.util.Map;
import slt.model.Host;

/**
 * Where the time of optimizer steps goes, for {@code slt bench}: mask selection, batch creation,
 * forward (the blocks, up to the final hidden states), backward (the LM head and the loss, chunk by
 * chunk with each chunk's backward pass, then the blocks' backward pass), optimizer update. Each phase ends by reading one value of its last result,
 * which waits for the device, so GPU phases are not hidden by asynchronous execution (the extra
 * synchronisation makes profiled steps slightly slower than unprofiled ones).
 */
public final class StepProfile {
    long maskNs;
    long dataNs;
    long forwardNs;
    long backwardNs;
    long optimizerNs;
    long reduceNs; // replicas only: summing their gradients onto the first and copying the new scores back
    long steps;

    /** Waits until {@code a} is computed (reads one value). */
    static void sync(NDArray a) {
        if (a != null && a.size() > 0) {
            try (NDArray flat = a.flatten(); NDArray first = flat.get(0)) {
                Host.value(first);
            }
        }
    }

    /** Seconds per optimizer step by phase, in execution order. */
    public Map<String, Double> secondsPerStep() {
        Map<String, Double> m = new LinkedHashMap<>();
        double n = Math.max(1, steps);
        m.put("mask", maskNs / 1e9 / n);
        m.put("data", dataNs / 1e9 / n);
        m.put("forward", forwardNs / 1e9 / n);
        m.put("backward", backwardNs / 1e9 / n);
        m.put("optimizer", optimizerNs / 1e9 / n);
        if (reduceNs > 0) {
            m.put("reduce", reduceNs / 1e9 / n);
        }
        return m;
    }

    public long steps() {
        return steps;
    }
}
