package slt.train;

/**
 * Stop requests (a signal handler's, or a test's "stop after step N"): the run ends after the
 * current optimizer step with a checkpoint, unless that step is the last one anyway.
 */
final class StopSignal implements TrainingListener {
    private volatile boolean requested;
    private volatile long afterStep = -1;

    /** Safe from a signal handler's thread. */
    void request() {
        requested = true;
    }

    void after(long step) {
        afterStep = step;
    }

    @Override
    public void onStepEnd(Trainer trainer, StepEnd end) {
        end.stop(!end.initial() && !end.last() && (requested || end.step() == afterStep));
    }
}
