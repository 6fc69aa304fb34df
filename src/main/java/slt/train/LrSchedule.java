package slt.train;

import ai.djl.training.tracker.Tracker;

/**
 * The paper's learning rate: linear warm-up from 0 to {@code lr} over the first {@code warmup}
 * optimizer steps, then cosine annealing from {@code lr} to {@code minLr} at the last step.
 * {@code getNewValue(s)} is the rate used by optimizer step s (1-based):
 *
 * <pre>
 *   s &lt;= W:  lr * s / W
 *   s &gt;  W:  minLr + (lr - minLr) * (1 + cos(pi * (s - W) / (S - W))) / 2
 * </pre>
 */
public final class LrSchedule implements Tracker {
    private final double lr;
    private final double minLr;
    private final long warmup;
    private final long total;

    public LrSchedule(double lr, double minLr, long warmup, long total) {
        this.lr = lr;
        this.minLr = minLr;
        this.warmup = Math.min(warmup, total);
        this.total = total;
    }

    /** Rate of optimizer step {@code step} (1-based), as a double. */
    public double at(long step) {
        if (step <= warmup) {
            return lr * step / warmup;
        }
        if (total == warmup) {
            return lr;
        }
        double progress = Math.min(1.0, (double) (step - warmup) / (total - warmup));
        return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }

    @Override
    public float getNewValue(int numUpdate) {
        return (float) at(numUpdate);
    }
}
