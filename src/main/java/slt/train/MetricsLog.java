package slt.train;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.checkpoint.RunState;
import slt.config.Config;

/**
 * The metrics line ({@code metrics.jsonl}) and the log line of every {@code train.log_every}-th
 * step and of every evaluated step: mean training loss since the previous line, learning rate,
 * tokens/s (evaluation time left out), and the validation loss when there is one. Other side jobs
 * that want the same points (e.g. TensorBoard) read the line from the step's {@link StepEnd}.
 */
final class MetricsLog implements TrainingListener {
    private static final Logger LOG = LogManager.getLogger(MetricsLog.class);
    private long lineStart;

    @Override
    public void onRunStart(Trainer trainer) {
        lineStart = System.nanoTime();
    }

    @Override
    public void onStepEnd(Trainer trainer, StepEnd end) throws IOException {
        Config.Train t = trainer.config().train();
        boolean evaluated = end.evaluated();
        if (end.initial()) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("step", 0L);
            line.put("epoch", 0.0);
            line.put("val_loss", end.valLoss());
            line.put("val_ppl", Math.exp(end.valLoss()));
            append(trainer, line);
            end.line(line);
            lineStart = System.nanoTime();
            return;
        }
        if (end.step() % t.logEvery() != 0 && !evaluated) {
            return;
        }
        RunState s = trainer.state();
        double seconds = (System.nanoTime() - lineStart - end.evalNanos()) / 1e9;
        long tokensPerStep = (long) t.batchSize() * trainer.config().data().seqLen();
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", end.step());
        line.put("epoch", Math.round(10000.0 * end.step() / t.stepsPerEpoch()) / 10000.0);
        line.put("loss", s.meanLossSinceLog());
        line.put("lr", end.lr());
        line.put("tokens_per_s", s.stepsSinceLog() * tokensPerStep / seconds);
        if (trainer.precision() == Config.Precision.FP16) { // steps skipped for overflowing fp16 gradients, so far
            line.put("loss_scale", s.lossScale().scale());
            line.put("skipped_steps", s.lossScale().skipped());
        }
        if (evaluated) {
            line.put("val_loss", end.valLoss());
            line.put("val_ppl", Math.exp(end.valLoss()));
        }
        trainer.setState(s.afterLog());
        append(trainer, line);
        end.line(line);
        LOG.info("step {}/{} epoch {} loss {} lr {} {} tok/s{}", end.step(), t.totalSteps(), line.get("epoch"),
                String.format("%.4f", (double) line.get("loss")), String.format("%.3g", end.lr()),
                Math.round((double) line.get("tokens_per_s")),
                evaluated ? String.format(" | val_loss %.4f val_ppl %.2f%s", end.valLoss(), Math.exp(end.valLoss()),
                        end.newBest() ? " (best)" : "") : "");
        lineStart = System.nanoTime();
    }

    /** Appends a line to metrics.jsonl; a failing write (a full disk) stops the run saying what to do. */
    private static void append(Trainer trainer, Map<String, Object> line) {
        try {
            trainer.runDirectory().appendMetrics(line);
        } catch (IOException e) {
            throw trainer.cannotWrite(RunDirectory.METRICS, e);
        }
    }
}
