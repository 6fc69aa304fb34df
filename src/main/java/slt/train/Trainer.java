package slt.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.UserError;
import slt.checkpoint.Checkpoints;
import slt.checkpoint.RunState;
import slt.config.Config;
import slt.data.TokenWindows;
import slt.model.Gpt2;
import slt.model.ModelSpec;

/**
 * One training run: the loop. Per optimizer step, {@link TrainStep} does the mathematics; the
 * side jobs (evaluation, metrics and log lines, checkpoints, stop requests, and whatever else is
 * added, e.g. test faults) are {@link TrainingListener}s called around it. The run's state is one
 * record ({@link RunState}), which checkpoints save, a resume restores and {@code summary.json}
 * reports. How a run is created or resumed is {@link RunSetup}'s business.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);

    private final Config config;
    private final RunDirectory run;
    private final NDManager manager;
    private final Gpt2 model;
    private final TokenWindows trainSet;
    private final TokenWindows validSet;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final TrainStep trainStep;
    private final Replicas replicas;
    private final Config.Precision precision;
    private final StopSignal stop = new StopSignal();
    private final Checkpointing checkpointing;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private RunState state = RunState.start();

    /** A trainer with one model replica per device of {@code devices} (the first holds the optimizer). */
    Trainer(Config config, RunDirectory run, TokenWindows trainSet, TokenWindows validSet, List<Device> devices) {
        this.config = config;
        this.run = run;
        this.trainSet = trainSet;
        this.validSet = validSet;
        ModelSpec spec = ModelSpec.from(config);
        this.precision = Devices.applyPrecision(config.train().precision(), devices.get(0)); // before any product
        this.manager = NDManager.newBaseManager(devices.get(0));
        this.model = Gpt2.create(spec, manager, precision);
        List<Replicas.Replica> list = new ArrayList<>(List.of(new Replicas.Replica(model, manager)));
        for (Device d : devices.subList(1, devices.size())) { // each from the same seed: identical weights and scores
            NDManager m = NDManager.newBaseManager(d);
            list.add(new Replicas.Replica(Gpt2.create(spec, m, precision), m));
        }
        this.replicas = new Replicas(list);
        Config.Train t = config.train();
        this.optimizer = new AdamW(model.trainable(), model.kernels(), t.beta1(), t.beta2(), t.eps(), t.weightDecay());
        this.schedule = new LrSchedule(t.lr(), t.minLr(), t.warmupSteps(), t.totalSteps());
        this.trainStep = new TrainStep(replicas, optimizer, trainSet, t, precision);
        this.checkpointing = new Checkpointing(run.checkpoints());
        // in this order: a stop decided first is seen by the checkpoints; the metrics line carries the evaluation
        listeners.add(stop);
        listeners.add(new Validation());
        listeners.add(new MetricsLog());
        listeners.add(checkpointing);
        if (t.tensorboard()) {
            addListener(new TensorBoardListener());
        }
    }

    /** Prepares a new run in its own directory ({@link RunSetup#create}). */
    public static Trainer create(Config config, boolean force) {
        return RunSetup.create(config, force);
    }

    /** Continues the run in {@code runDir} from its newest intact checkpoint ({@link RunSetup#resume}). */
    public static Trainer resume(Path runDir, List<String> overrides) {
        return RunSetup.resume(runDir, overrides);
    }

    /** A trainer on random tokens for speed measurements ({@link RunSetup#forBenchmark}). */
    public static Trainer forBenchmark(Config config, Path scratch) {
        return RunSetup.forBenchmark(config, scratch);
    }

    /**
     * Adds a side job, called after the built-in ones except the checkpoints (so that whatever it
     * writes before a checkpoint is in it).
     */
    public void addListener(TrainingListener listener) {
        listeners.add(listeners.indexOf(checkpointing), listener);
    }

    /**
     * Trains to the last step and returns the summary (also written to summary.json), or stops
     * early after a requested stop, with a checkpoint, and returns null.
     */
    public Map<String, Object> run() throws IOException {
        Config.Train t = config.train();
        long total = t.totalSteps();
        LOG.info("{} optimizer steps of {} sequences x {} tokens ({} micro-batches of {}{}); {} trainable tensors",
                total, t.batchSize(), config.data().seqLen(), t.accumulation(), t.microBatch(),
                config.run().replicas() > 1 ? " over " + config.run().replicas() + " replicas" : "",
                model.trainable().size());
        for (TrainingListener l : listeners) {
            l.onRunStart(this);
        }
        if (state.step() == 0) { // the untrained ticket (random scores): the baseline every curve starts from
            TrainingListener.StepEnd start = TrainingListener.StepEnd.atStart();
            for (TrainingListener l : listeners) {
                l.onStepEnd(this, start);
            }
        }
        try (ProgressBar bar = Progress.bar("train", total)) {
            bar.stepTo(state.step());
            while (state.step() < total) {
                long stepStart = System.nanoTime();
                double lr = schedule.at(state.step() + 1);
                for (TrainingListener l : listeners) {
                    l.onStepStart(this, state.step());
                }
                trainStep.setLossScale(state.lossScale());
                double loss = trainStep.run(lr);
                if (!Double.isFinite(loss)) {
                    long saved = checkpointing.savedStep();
                    throw new UserError("training diverged: the loss is " + loss + " at step " + (state.step() + 1)
                            + "; nothing of that step was applied" + (saved >= 0 ? " and the last checkpoint (step "
                            + saved + ") is intact" : " (no checkpoint was written yet)") + "; "
                            + "start again with a lower train.lr or with train.grad_clip set");
                }
                state = state.afterStep(loss, (System.nanoTime() - stepStart) / 1e9, trainSet.sampler().position(),
                        optimizer.steps(), trainStep.lossScale());
                bar.stepTo(state.step());
                TrainingListener.StepEnd end = new TrainingListener.StepEnd(state.step(), lr, loss, state.step() == total);
                for (TrainingListener l : listeners) {
                    l.onStepEnd(this, end);
                }
                bar.setExtraMessage(!end.evaluated() ? String.format("loss %.3f", loss)
                        : String.format("loss %.3f val %.3f", loss, end.valLoss()));
                if (end.stop()) {
                    LOG.info("stopped after step {} of {} with a checkpoint", state.step(), total);
                    return null;
                }
            }
        }
        Map<String, Object> summary = RunSummary.of(this);
        try {
            run.writeSummary(summary);
        } catch (IOException e) {
            throw cannotWrite(RunDirectory.SUMMARY, e);
        }
        LOG.info("done: best val_loss {} (ppl {}) at step {}; summary in {}",
                String.format("%.4f", state.bestValLoss()), String.format("%.2f", Math.exp(state.bestValLoss())),
                state.bestStep(), run.path().resolve(RunDirectory.SUMMARY));
        return summary;
    }

    /** A file of the run that cannot be written (a full disk): what to do, from where the run stands. */
    UserError cannotWrite(String file, IOException e) {
        long saved = checkpointing.savedStep();
        String problem = "cannot write " + run.path().resolve(file) + " (" + e.getMessage() + "): free disk space or "
                + "fix permissions, then ";
        return saved >= 0
                ? new UserError(problem + "continue from the checkpoint of step " + saved
                        + " (it holds its own copy of the metrics):", new UserError.Fix.Resume(run.path()), e)
                : new UserError(problem + "start again, no checkpoint was written yet:",
                        new UserError.Fix.Restart(run.path().resolve(RunDirectory.CONFIG)), e);
    }

    /** Validation loss of the current scores (masks recomputed from them first). */
    double validate() {
        model.refreshMasks();
        return Evaluator.meanLoss(model, validSet, config.train().evalWindows(), config.train().microBatch(), manager);
    }

    /** One optimizer step at {@code lr} outside the loop (benchmarks, tests): no listener runs. */
    public double trainStep(double lr, StepProfile profile) {
        return trainStep.run(lr, profile);
    }

    /** Loads checkpoint {@code ckpt} into this trainer: tensors, optimizer, state, metrics.jsonl as it was then. */
    void restore(Checkpoints.Checkpoint ckpt) throws IOException {
        state = checkpointing.restore(ckpt, this);
        replicas.copyTrainedFromFirst();
    }

    /** Asks the run to stop after the current optimizer step, with a checkpoint (safe from a signal handler). */
    public void requestStop() {
        stop.request();
    }

    /** Stops after optimizer step {@code s} as if a stop had been requested (tests). */
    void stopAfter(long s) {
        stop.after(s);
    }

    /** Native arrays currently alive under this run's manager (flat over a run: no leaks). */
    long liveArrays() {
        return manager.getManagedArrays().size();
    }

    public Config config() {
        return config;
    }

    public Gpt2 model() {
        return model;
    }

    public RunDirectory runDirectory() {
        return run;
    }

    /** The device this trainer computes on. */
    /** The precision this run computes in (train.precision resolved for its device). */
    public Config.Precision precision() {
        return precision;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** Optimizer steps done. */
    public long step() {
        return state.step();
    }

    /** The run's state: what checkpoints save and summary.json reports. */
    public RunState state() {
        return state;
    }

    void setState(RunState s) {
        state = s;
    }

    AdamW optimizer() {
        return optimizer;
    }

    NDManager manager() {
        return manager;
    }

    TokenWindows trainSet() {
        return trainSet;
    }

    TokenWindows validSet() {
        return validSet;
    }

    /** The run's checkpoints (test faults install a write hook on them). */
    Checkpoints checkpoints() {
        return checkpointing.checkpoints();
    }

    @Override
    public void close() {
        for (TrainingListener l : listeners) {
            if (l instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("closing {} failed: {}", l.getClass().getSimpleName(), e.getMessage());
                }
            }
        }
        replicas.close(); // with the managers of the replicas after the first
        manager.close();
        run.unlock();
    }
}
