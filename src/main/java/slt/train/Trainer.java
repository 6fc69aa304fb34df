package slt.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.UserError;
import slt.config.Config;
import slt.data.Corpus;
import slt.data.TokenWindows;
import slt.data.WindowSampler;
import slt.model.Gpt2;
import slt.model.MaskSelector;
import slt.model.MaskedBlock;
import slt.model.ModelSpec;

/**
 * One training run, read top to bottom in {@link #run()}: per optimizer step, masks from scores
 * (once), micro-batch forward/backward with gradients accumulating into the scores (or weights,
 * dense), AdamW, then metrics, validation and checkpoints at their intervals.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);

    private final Config config;
    private final RunDirectory run;
    private final NDManager manager;
    private final Gpt2 model;
    private final TokenWindows trainSet;
    private final TokenWindows validSet;
    private final WindowSampler sampler;
    private final AdamW optimizer;
    private final LrSchedule schedule;

    private long step;
    private double bestValLoss = Double.POSITIVE_INFINITY;
    private long bestStep = -1;
    private double lastValLoss = Double.NaN;
    private double trainingSeconds;

    private Trainer(Config config, RunDirectory run, TokenWindows trainSet, TokenWindows validSet, Device device) {
        this.config = config;
        this.run = run;
        this.trainSet = trainSet;
        this.validSet = validSet;
        this.sampler = trainSet.sampler();
        this.manager = NDManager.newBaseManager(device);
        this.model = Gpt2.create(ModelSpec.from(config), manager);
        Config.Train t = config.train();
        this.optimizer = new AdamW(model.trainable(), t.beta1(), t.beta2(), t.eps(), t.weightDecay());
        this.schedule = new LrSchedule(t.lr(), t.minLr(), t.warmupSteps(), t.totalSteps());
    }

    /** Prepares a new run: data first (so a data problem creates no directory), then the run directory. */
    public static Trainer create(Config config, boolean force) {
        Devices.configureThreads(config.run().threads());
        Config resolved = config.resolved();
        Config.Train t = resolved.train();
        TokenWindows train = Corpus.train(resolved.data(), t.seed(), t.microBatch());
        TokenWindows valid = Corpus.eval(resolved.data(), Config.Split.VALID, t.microBatch());
        Device device = Devices.resolve(resolved.run().device());
        RunDirectory run = RunDirectory.create(Path.of(resolved.run().dir(), resolved.runName()), force);
        try {
            run.writeConfig(resolved);
        } catch (IOException e) {
            throw new UserError("cannot write " + run.path().resolve(RunDirectory.CONFIG) + ": " + e.getMessage());
        }
        LOG.info("run {} on {}: preset {} (d={}, heads={}, layers={}), mode {}, density {}, qk_scale {} ({}), seed {}",
                run.path(), device, resolved.model().preset().key(), resolved.dModel(), resolved.nHead(),
                resolved.model().preset().layers(), resolved.slt().mode().name().toLowerCase(), resolved.slt().density(),
                String.format("%.4f", resolved.qkScale()), config.slt().qkScale(), t.seed());
        LOG.info("data: {} training windows ({} tokens), {} validation windows of {} tokens",
                train.windows(), train.tokenCount(), valid.windows(), resolved.data().seqLen());
        return new Trainer(resolved, run, train, valid, device);
    }

    public Gpt2 model() {
        return model;
    }

    public RunDirectory runDirectory() {
        return run;
    }

    /** Native arrays currently alive under this run's manager (flat over a run: no leaks). */
    long liveArrays() {
        return manager.getManagedArrays().size();
    }

    /** Trains to the last step and returns the summary (also written to summary.json). */
    public Map<String, Object> run() throws IOException {
        Config.Train t = config.train();
        long total = t.totalSteps();
        int accumulation = t.accumulation();
        long tokensPerStep = (long) t.batchSize() * config.data().seqLen();
        LOG.info("{} optimizer steps of {} sequences x {} tokens ({} micro-batches of {}); {} trainable tensors",
                total, t.batchSize(), config.data().seqLen(), accumulation, t.microBatch(), model.trainable().size());

        if (step == 0) { // the untrained ticket (random scores): the baseline every curve starts from
            double initial = validate();
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("step", 0L);
            line.put("epoch", 0.0);
            line.put("val_loss", initial);
            line.put("val_ppl", Math.exp(initial));
            run.appendMetrics(line);
            LOG.info("step 0 (untrained): val_loss {} val_ppl {}", String.format("%.4f", initial),
                    String.format("%.2f", Math.exp(initial)));
        }
        double lossSinceLog = 0;
        int stepsSinceLog = 0;
        long logStart = System.nanoTime();
        try (ProgressBar bar = Progress.bar("train", total)) {
            bar.stepTo(step);
            while (step < total) {
                long stepStart = System.nanoTime();
                double lr = schedule.at(step + 1);
                double loss = trainStep(lr, accumulation);
                step++;
                trainingSeconds += (System.nanoTime() - stepStart) / 1e9;
                if (!Double.isFinite(loss)) {
                    throw new UserError("training diverged: the loss is " + loss + " at step " + step
                            + "; the last checkpoint is intact; lower train.lr or set train.grad_clip");
                }
                lossSinceLog += loss;
                stepsSinceLog++;
                bar.stepTo(step);
                bar.setExtraMessage(String.format("loss %.3f", loss));

                boolean last = step == total;
                boolean evaluate = step % t.evalInterval() == 0 || last;
                Map<String, Object> line = null;
                if (step % t.logEvery() == 0 || evaluate) {
                    double seconds = (System.nanoTime() - logStart) / 1e9;
                    line = metricsLine(lossSinceLog / stepsSinceLog, lr, stepsSinceLog * tokensPerStep / seconds);
                    lossSinceLog = 0;
                    stepsSinceLog = 0;
                }
                boolean newBest = false;
                if (evaluate) {
                    lastValLoss = validate();
                    newBest = lastValLoss < bestValLoss;
                    if (newBest) {
                        bestValLoss = lastValLoss;
                        bestStep = step;
                    }
                    line.put("val_loss", lastValLoss);
                    line.put("val_ppl", Math.exp(lastValLoss));
                    bar.setExtraMessage(String.format("loss %.3f val %.3f", loss, lastValLoss));
                }
                if (line != null) {
                    run.appendMetrics(line);
                    LOG.info("step {}/{} epoch {} loss {} lr {} {} tok/s{}", step, total, line.get("epoch"),
                            String.format("%.4f", (double) line.get("loss")), String.format("%.3g", lr),
                            Math.round((double) line.get("tokens_per_s")),
                            evaluate ? String.format(" | val_loss %.4f val_ppl %.2f%s", lastValLoss, Math.exp(lastValLoss),
                                    newBest ? " (best)" : "") : "");
                    logStart = System.nanoTime();
                }
                if (step % t.checkpointInterval() == 0 || last || newBest) {
                    saveCheckpoint(newBest);
                }
            }
        }
        Map<String, Object> summary = summary();
        run.writeSummary(summary);
        LOG.info("done: best val_loss {} (ppl {}) at step {}; summary in {}",
                String.format("%.4f", bestValLoss), String.format("%.2f", Math.exp(bestValLoss)), bestStep,
                run.path().resolve(RunDirectory.SUMMARY));
        return summary;
    }

    /**
     * One optimizer step: masks from the current scores, {@code accumulation} micro-batches whose
     * gradients add up to the gradient of the batch-mean loss, optional clipping, AdamW. Returns
     * the batch's mean training loss.
     */
    double trainStep(double lr, int accumulation) {
        Config.Train t = config.train();
        MaskSelector.update(model.weights(), config.slt().density(), config.slt().scope());
        double lossSum = 0;
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            for (int micro = 0; micro < accumulation; micro++) {
                try (NDScope ignored = new NDScope()) {
                    NDList batch = trainSet.batch(manager, sampler.next(t.microBatch()));
                    NDArray loss = Losses.crossEntropy(model.logits(batch.get(0)), batch.get(1));
                    collector.backward(loss.div(accumulation));
                    lossSum += loss.getFloat();
                }
            }
        }
        if (t.gradClip() != null) {
            double norm = optimizer.gradNorm();
            if (norm > t.gradClip()) {
                optimizer.scaleGradients(t.gradClip() / norm);
            }
        }
        optimizer.step(lr);
        return lossSum / accumulation;
    }

    /** Validation loss of the current scores (masks recomputed from them first). */
    double validate() {
        MaskSelector.update(model.weights(), config.slt().density(), config.slt().scope());
        return Evaluator.meanLoss(model, validSet, config.train().evalWindows(), config.train().microBatch(), manager);
    }

    private Map<String, Object> metricsLine(double loss, double lr, double tokensPerS) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", step);
        line.put("epoch", Math.round(10000.0 * step / config.train().stepsPerEpoch()) / 10000.0);
        line.put("loss", loss);
        line.put("lr", lr);
        line.put("tokens_per_s", tokensPerS);
        return line;
    }

    private void saveCheckpoint(boolean isBest) throws IOException {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        Map<String, NDArray> moments = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : model.trainable().entrySet()) {
            tensors.put(e.getKey(), e.getValue().getArray());
            NDArray[] mv = optimizer.moments(e.getKey());
            moments.put(e.getKey() + ".exp_avg", mv[0]);
            moments.put(e.getKey() + ".exp_avg_sq", mv[1]);
        }
        ObjectNode state = JsonNodeFactory.instance.objectNode();
        state.put("sampler_position", sampler.position());
        state.put("optimizer_steps", optimizer.steps());
        state.put("best_val_loss", bestValLoss);
        state.put("best_step", bestStep);
        state.put("last_val_loss", lastValLoss);
        state.put("training_seconds", trainingSeconds);
        try {
            run.checkpoints().save(step, tensors, moments, state, isBest, config.train().keepCheckpoints());
        } catch (IOException e) {
            throw new UserError("cannot write the checkpoint of step " + step + " in " + run.checkpoints().root()
                    + " (" + e.getMessage() + "); the previous checkpoint is intact: free disk space or fix permissions");
        }
    }

    /** Totals of the run, and the counts that place it on the paper's Fig. 7 x-axis. */
    private Map<String, Object> summary() {
        long total = 0;
        long nonzero = 0;
        for (MaskedBlock w : model.weights()) {
            total += w.numel();
            nonzero += w.role() == MaskedBlock.Role.MASKED ? MaskSelector.keep(config.slt().density(), w.numel()) : w.numel();
        }
        if (config.slt().scope() == Config.Scope.GLOBAL && config.slt().mode() == Config.Mode.EDGEPOPUP) {
            nonzero = 0;
            for (MaskedBlock w : model.weights()) {
                nonzero += w.role() == MaskedBlock.Role.MASKED ? w.mask().sum().getLong() : w.numel();
            }
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("run", config.runName());
        s.put("best_val_loss", bestValLoss);
        s.put("best_val_ppl", Math.exp(bestValLoss));
        s.put("best_step", bestStep);
        s.put("final_val_loss", lastValLoss);
        s.put("final_val_ppl", Math.exp(lastValLoss));
        s.put("steps", step);
        s.put("tokens", step * config.train().batchSize() * config.data().seqLen());
        s.put("wall_s", trainingSeconds);
        s.put("params_total", total);
        s.put("params_nonzero", nonzero);
        s.put("qk_scale", config.qkScale());
        s.put("density", config.slt().density());
        s.put("mode", config.slt().mode().name().toLowerCase());
        s.put("preset", config.model().preset().key());
        s.put("width", config.model().width());
        s.put("seed", config.train().seed());
        s.put("device", manager.getDevice().toString());
        return s;
    }

    @Override
    public void close() {
        manager.close();
    }
}
