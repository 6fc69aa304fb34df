package slt.train;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.config.Config;

/**
 * Evaluation at step 0 of a new run (the untrained ticket, the baseline every curve starts from;
 * it does not count as a best), every {@code train.eval_every} steps and at the last step.
 */
final class Validation implements TrainingListener {
    private static final Logger LOG = LogManager.getLogger(Validation.class);

    @Override
    public void onStepEnd(Trainer trainer, StepEnd end) {
        Config.Train t = trainer.config().train();
        if (!end.initial() && end.step() % t.evalInterval() != 0 && !end.last()) {
            return;
        }
        long start = System.nanoTime();
        double valLoss = trainer.validate();
        boolean newBest = !end.initial() && valLoss < trainer.state().bestValLoss();
        end.evaluated(valLoss, newBest, System.nanoTime() - start);
        if (end.initial()) {
            LOG.info("step 0 (untrained): val_loss {} val_ppl {}", String.format("%.4f", valLoss),
                    String.format("%.2f", Math.exp(valLoss)));
            return;
        }
        trainer.setState(trainer.state().afterEvaluation(valLoss));
    }
}
