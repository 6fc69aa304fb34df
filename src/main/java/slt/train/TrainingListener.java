package slt.train;

import java.io.IOException;

/**
 * A side job around the training loop (evaluation, metrics and log lines, checkpoints, test
 * faults), in the spirit of DJL's {@code TrainingListener}: the loop calls every listener, in the
 * order they were added, at these points, and knows nothing of what they do.
 */
public interface TrainingListener {
    /** Once, before the first step this process runs (at step 0 of a new run, or where a resume starts). */
    default void onRunStart(Trainer trainer) throws IOException {}

    /** Before optimizer step {@code step + 1} ({@code step} steps are done). */
    default void onStepStart(Trainer trainer, long step) {}

    /**
     * After an optimizer step, or after step 0 of a new run ({@link StepEnd#initial()}): the
     * trainer's state already counts the step; listeners read {@code end} and add to it.
     */
    default void onStepEnd(Trainer trainer, StepEnd end) throws IOException {}

    /** What the listeners of one step end learn and tell each other, in listener order. */
    final class StepEnd {
        final long step;
        final double lr;
        final double loss;
        final boolean last;
        /** A metrics line was opened for this step (null: not a logging step). */
        java.util.Map<String, Object> line;
        /** Whether this step was evaluated, and its validation loss. */
        boolean evaluated;
        double valLoss = Double.NaN;
        boolean newBest;
        /** Time the evaluation of this step took (not training time: tokens/s leaves it out). */
        long evalNanos;
        /** The run stops after this step (with a checkpoint). */
        boolean stop;

        StepEnd(long step, double lr, double loss, boolean last) {
            this.step = step;
            this.lr = lr;
            this.loss = loss;
            this.last = last;
        }

        /** Step 0 of a new run: no training yet, the untrained ticket is evaluated. */
        static StepEnd atStart() {
            return new StepEnd(0, Double.NaN, Double.NaN, false);
        }

        public boolean initial() {
            return step == 0;
        }

        public long step() {
            return step;
        }

        public double loss() {
            return loss;
        }

        public double lr() {
            return lr;
        }

        public boolean last() {
            return last;
        }

        public double valLoss() {
            return valLoss;
        }

        public boolean evaluated() {
            return evaluated;
        }

        public boolean stop() {
            return stop;
        }
    }
}
