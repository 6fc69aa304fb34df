package slt.train;

import java.io.IOException;
import java.util.Map;

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

    /**
     * What the listeners of one step end learn and tell each other, in listener order: the step,
     * its learning rate and loss (from the loop), then what {@link Validation} evaluated, the
     * metrics line {@link MetricsLog} opened, and whether {@link StopSignal} stops the run.
     */
    final class StepEnd {
        private final long step;
        private final double lr;
        private final double loss;
        private final boolean last;
        private Map<String, Object> line;
        private boolean evaluated;
        private double valLoss = Double.NaN;
        private boolean newBest;
        private long evalNanos;
        private boolean stop;

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

        /** Records this step's evaluation: its loss, whether it is the best so far, and what it cost. */
        void evaluated(double valLoss, boolean newBest, long nanos) {
            this.evaluated = true;
            this.valLoss = valLoss;
            this.newBest = newBest;
            this.evalNanos = nanos;
        }

        void line(Map<String, Object> line) {
            this.line = line;
        }

        void stop(boolean stop) {
            this.stop = stop;
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

        /** The last step of the run. */
        public boolean last() {
            return last;
        }

        /** The metrics line opened for this step (the fields of metrics.jsonl), or null when it logs nothing. */
        public Map<String, Object> line() {
            return line;
        }

        public boolean evaluated() {
            return evaluated;
        }

        /** This step's validation loss (NaN when it was not evaluated). */
        public double valLoss() {
            return valLoss;
        }

        /** Whether this step's validation loss is the best of the run so far. */
        public boolean newBest() {
            return newBest;
        }

        /** Time the evaluation of this step took (not training time: tokens/s leaves it out). */
        public long evalNanos() {
            return evalNanos;
        }

        /** The run stops after this step (with a checkpoint). */
        public boolean stop() {
            return stop;
        }
    }
}
