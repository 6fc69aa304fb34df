package slt.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.UserError;
import slt.checkpoint.Checkpoints;
import slt.checkpoint.RunState;
import slt.checkpoint.SafeTensors;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.data.Corpus;
import slt.data.TokenFile;
import slt.data.TokenWindows;
import slt.data.WindowSampler;
import slt.model.Constants;
import slt.model.Flops;
import slt.model.Gpt2;
import slt.model.Host;
import slt.model.MaskSelector;
import slt.model.MaskedBlock;
import slt.model.ModelSpec;
import slt.model.Scoped;

/**
 * One training run, read top to bottom in {@link #run()}: per optimizer step, masks from scores
 * (once), micro-batch forward/backward with gradients accumulating into the scores (or weights,
 * dense), AdamW, then metrics, validation and checkpoints at their intervals. A run stopped at
 * any step (signal, crash) continues from its last checkpoint with {@link #resume} and computes
 * exactly what it would have computed without the interruption.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);

    private final Config config;
    private final RunDirectory run;
    private final Checkpoints checkpoints;
    private final NDManager manager;
    private final Gpt2 model;
    private final TokenWindows trainSet;
    private final TokenWindows validSet;
    private final WindowSampler sampler;
    private final AdamW optimizer;
    private final LrSchedule schedule;

    // the run's state: everything a checkpoint stores besides tensors
    private long step;
    private double bestValLoss = Double.POSITIVE_INFINITY;
    private long bestStep = -1;
    private double lastValLoss = Double.NaN;
    private long lastValStep = -1;
    private double trainingSeconds;
    private double lossSinceLog;
    private int stepsSinceLog;
    private long savedStep = -1;

    private volatile boolean stopRequested;
    private long stopAtStep = -1;

    private Trainer(Config config, RunDirectory run, TokenWindows trainSet, TokenWindows validSet, Device device) {
        this.config = config;
        this.run = run;
        this.checkpoints = run.checkpoints().withWriteHook(Trainer::testWriteHook);
        this.trainSet = trainSet;
        this.validSet = validSet;
        this.sampler = trainSet.sampler();
        this.manager = NDManager.newBaseManager(device);
        this.model = Gpt2.create(ModelSpec.from(config), manager);
        Config.Train t = config.train();
        this.optimizer = new AdamW(model.trainable(), model.kernels(), t.beta1(), t.beta2(), t.eps(), t.weightDecay());
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
        Trainer trainer;
        try {
            run.writeConfig(resolved);
            trainer = new Trainer(resolved, run, train, valid, device);
        } catch (IOException e) {
            run.unlock();
            throw new UserError("cannot write " + run.path().resolve(RunDirectory.CONFIG) + ": " + e.getMessage());
        } catch (RuntimeException e) {
            run.unlock();
            throw e;
        }
        trainer.describe(config.slt().qkScale());
        return trainer;
    }

    /**
     * A trainer for speed measurements ({@code slt bench}): the config's model and optimizer on
     * uniformly random token windows, with {@code scratch} as its run directory (nothing is
     * written there unless {@link #run()} is called).
     */
    public static Trainer forBenchmark(Config config, Path scratch) {
        Devices.configureThreads(config.run().threads());
        Config resolved = config.resolved();
        Config.Train t = resolved.train();
        int seqLen = resolved.data().seqLen();
        int tokens = Math.max(1 << 22, 4 * t.batchSize() * (seqLen + 1));
        TokenFile file = TokenFile.random(tokens, slt.config.Preset.VOCAB, t.seed());
        long windows = (tokens - 1L) / seqLen;
        TokenWindows train = new TokenWindows(file, 0, tokens, seqLen, new WindowSampler(windows, t.seed(), t.microBatch()));
        TokenWindows valid = new TokenWindows(file, 0, Math.min(tokens, 8L * seqLen + 1), seqLen,
                new WindowSampler(1, 0, t.microBatch()));
        return new Trainer(resolved, new RunDirectory(scratch), train, valid, Devices.resolve(resolved.run().device()));
    }

    /** The device this trainer computes on. */
    public Device device() {
        return manager.getDevice();
    }

    /**
     * Continues the run in {@code runDir} from its newest intact checkpoint. {@code overrides} may
     * change only {@link Config#RESUMABLE_KEYS}; a checkpoint written under another config is refused.
     */
    public static Trainer resume(Path runDir, List<String> overrides) {
        RunDirectory run = RunDirectory.open(runDir);
        run.lockForTraining();
        try {
            return resume(run, overrides);
        } catch (RuntimeException e) {
            run.unlock(); // on success the trainer releases it when closed
            throw e;
        }
    }

    private static Trainer resume(RunDirectory run, List<String> overrides) {
        Path runDir = run.path();
        Config original = run.config();
        Config updated = ConfigLoader.loadRecorded(runDir.resolve(RunDirectory.CONFIG), overrides);
        List<String> changed = ConfigLoader.diff(original, updated);
        for (String key : changed) {
            if (!Config.RESUMABLE_KEYS.contains(key)) {
                throw new UserError("cannot change " + key + " when resuming: it changes the computation done so far; "
                        + "start a new run instead (keys a resume may change: " + String.join(", ",
                                Config.RESUMABLE_KEYS.stream().sorted().toList()) + ")");
            }
        }
        Checkpoints.Checkpoint ckpt;
        try {
            ckpt = run.checkpoints().latest().orElseThrow(() -> new UserError(runDir
                    + " has no intact checkpoint to resume from: start it again with ./slt train --config "
                    + runDir.resolve(RunDirectory.CONFIG) + " --force"));
            Config saved = ConfigLoader.loadRecorded(ckpt.dir().resolve(RunDirectory.CONFIG), null);
            for (String key : ConfigLoader.diff(saved, original)) {
                if (!Config.RESUMABLE_KEYS.contains(key)) {
                    throw new UserError("checkpoint " + ckpt.dir() + " was written with a different " + key + " than "
                            + runDir.resolve(RunDirectory.CONFIG) + " says: that file was edited; restore it (the "
                            + "checkpoint holds a copy) or start a new run");
                }
            }
        } catch (IOException e) {
            throw new UserError("cannot read the checkpoints of " + runDir + ": " + e.getMessage());
        }
        if (changed.contains("train.micro_batch")) {
            LOG.warn("train.micro_batch changed: the same mathematics, but gradients are summed in another order, "
                    + "so the continuation is not bit-identical to an uninterrupted run");
        }
        if (changed.contains("train.epochs")) {
            warnScheduleChange(original.train(), updated.train(), ckpt.step());
        }
        Devices.configureThreads(updated.run().threads());
        Config.Train t = updated.train();
        TokenWindows train = Corpus.train(updated.data(), t.seed(), t.microBatch());
        TokenWindows valid = Corpus.eval(updated.data(), Config.Split.VALID, t.microBatch());
        Trainer trainer = new Trainer(updated, run, train, valid, Devices.resolve(updated.run().device()));
        try {
            trainer.restore(ckpt);
            if (!changed.isEmpty()) {
                run.writeConfig(updated);
                LOG.info("resume changed {} (config.yaml updated)", changed);
            }
        } catch (IOException | RuntimeException e) {
            trainer.close();
            if (e instanceof UserError u) {
                throw u;
            }
            throw new UserError("cannot restore checkpoint " + ckpt.dir() + ": " + e.getMessage());
        }
        trainer.describe(updated.slt().qkScale());
        LOG.info("resumed from {} at step {} of {}", ckpt.dir(), trainer.step, t.totalSteps());
        return trainer;
    }

    /** The LR schedule follows the run's length: a new train.epochs bends it from the resumed step on. */
    private static void warnScheduleChange(Config.Train before, Config.Train after, long step) {
        double was = new LrSchedule(before.lr(), before.minLr(), before.warmupSteps(), before.totalSteps()).at(step);
        double now = new LrSchedule(after.lr(), after.minLr(), after.warmupSteps(), after.totalSteps()).at(step);
        LOG.warn("train.epochs changed from {} to {}: from step {} the learning rate follows the {}-epoch schedule "
                + "({} where the old one was at {}), so the result matches neither a {}- nor a {}-epoch run from scratch",
                before.epochs(), after.epochs(), step, after.epochs(), String.format("%.3g", now), String.format("%.3g", was),
                before.epochs(), after.epochs());
    }

    private void describe(String qkSpec) {
        LOG.info("run {} on {}: preset {} (d={}, heads={}, layers={}), mode {}, density {}, qk_scale {} ({}), seed {}",
                run.path(), manager.getDevice(), config.model().preset().key(), config.dModel(), config.nHead(),
                config.model().preset().layers(), config.slt().mode().name().toLowerCase(), config.slt().density(),
                String.format("%.4f", config.qkScale()), qkSpec, config.train().seed());
        LOG.info("data: {} training windows ({} tokens), {} validation windows of {} tokens",
                trainSet.windows(), trainSet.tokenCount(), validSet.windows(), config.data().seqLen());
        if (config.slt().mode() == Config.Mode.EDGEPOPUP && config.slt().density() * config.dModel() < 1) {
            LOG.warn("slt.density {} keeps fewer than one weight per row of {} on average: most units get no input, and "
                    + "the ticket can hardly learn (use >= {})", config.slt().density(), config.dModel(),
                    String.format("%.3g", 1.0 / config.dModel()));
        }
        String allocator = Devices.allocator();
        LOG.info("memory allocator: {}{}", allocator, allocator.equals("jemalloc") || manager.getDevice().isGpu() ? ""
                : " (on CPU its heap grows for a few hundred steps; with libjemalloc2 installed ./slt uses jemalloc:"
                        + " flat memory, faster steps; docs/BENCHMARKS.md)");
        if (manager.getDevice().isGpu()) {
            Devices.Libtorch lib = Devices.libtorch();
            LOG.info("libtorch {} {} (CUDA {}), {} GPU(s); fp32 matmuls on TF32 tensor cores: {} ({}={}; only 1 turns them on)",
                    lib.version(), lib.flavour(), lib.cudaVersion(), lib.gpus(), Devices.tf32() ? "on" : "off",
                    Devices.TF32_ENV, Devices.tf32Value() == null ? "unset" : Devices.tf32Value());
        }
    }

    public Gpt2 model() {
        return model;
    }

    public RunDirectory runDirectory() {
        return run;
    }

    /** Optimizer steps done. */
    public long step() {
        return step;
    }

    /** Asks the run to stop after the current optimizer step, with a checkpoint (safe from a signal handler). */
    public void requestStop() {
        stopRequested = true;
    }

    /** Stops after optimizer step {@code s} as if a stop had been requested (tests). */
    void stopAfter(long s) {
        stopAtStep = s;
    }

    /** Native arrays currently alive under this run's manager (flat over a run: no leaks). */
    long liveArrays() {
        return manager.getManagedArrays().size();
    }

    /**
     * Trains to the last step and returns the summary (also written to summary.json), or stops
     * early after a requested stop, with a checkpoint, and returns null.
     */
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
            appendMetrics(line);
            LOG.info("step 0 (untrained): val_loss {} val_ppl {}", String.format("%.4f", initial),
                    String.format("%.2f", Math.exp(initial)));
        }
        long logStart = System.nanoTime();
        try (ProgressBar bar = Progress.bar("train", total)) {
            bar.stepTo(step);
            while (step < total) {
                long stepStart = System.nanoTime();
                double lr = schedule.at(step + 1);
                double loss = trainStep(lr, accumulation);
                if (!Double.isFinite(loss)) {
                    throw new UserError("training diverged: the loss is " + loss + " at step " + (step + 1)
                            + "; nothing of that step was applied" + (savedStep >= 0 ? " and the last checkpoint (step "
                            + savedStep + ") is intact" : " (no checkpoint was written yet)") + "; "
                            + "start again with a lower train.lr or with train.grad_clip set");
                }
                step++;
                trainingSeconds += (System.nanoTime() - stepStart) / 1e9;
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
                    lastValStep = step;
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
                    appendMetrics(line);
                    LOG.info("step {}/{} epoch {} loss {} lr {} {} tok/s{}", step, total, line.get("epoch"),
                            String.format("%.4f", (double) line.get("loss")), String.format("%.3g", lr),
                            Math.round((double) line.get("tokens_per_s")),
                            evaluate ? String.format(" | val_loss %.4f val_ppl %.2f%s", lastValLoss, Math.exp(lastValLoss),
                                    newBest ? " (best)" : "") : "");
                    logStart = System.nanoTime();
                }
                boolean stop = (stopRequested || step == stopAtStep) && !last;
                if (step % t.checkpointInterval() == 0 || last || newBest || stop) {
                    saveCheckpoint(newBest);
                }
                if (stop) {
                    LOG.info("stopped after step {} of {} with a checkpoint; continue with: ./slt resume {}",
                            step, total, run.path());
                    return null;
                }
            }
        }
        Map<String, Object> summary = summary();
        try {
            run.writeSummary(summary);
        } catch (IOException e) {
            throw cannotWrite(RunDirectory.SUMMARY, e);
        }
        LOG.info("done: best val_loss {} (ppl {}) at step {}; summary in {}",
                String.format("%.4f", bestValLoss), String.format("%.2f", Math.exp(bestValLoss)), bestStep,
                run.path().resolve(RunDirectory.SUMMARY));
        return summary;
    }

    /**
     * One optimizer step: masks from the current scores, {@code accumulation} micro-batches whose
     * gradients add up to the gradient of the batch-mean loss, optional clipping, AdamW. Returns
     * the batch's mean training loss; a non-finite loss is returned without updating anything.
     */
    double trainStep(double lr, int accumulation) {
        return trainStep(lr, accumulation, null);
    }

    /** As {@link #trainStep(double, int)}, adding each phase's time to {@code profile} when it is not null. */
    public double trainStep(double lr, int accumulation, StepProfile profile) {
        Config.Train t = config.train();
        long t0 = System.nanoTime();
        MaskSelector.update(model.weights(), config.slt().density(), config.slt().scope());
        if (profile != null) {
            profile.maskNs += System.nanoTime() - t0; // ends with exact counts read on the host: synchronised
        }
        List<NDArray> losses = new ArrayList<>(accumulation); // stay on the device: one read for the step
        double lossSum = 0;
        try {
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                for (int micro = 0; micro < accumulation; micro++) {
                    try (NDScope ignored = new NDScope()) {
                        long t1 = System.nanoTime();
                        NDList batch = trainSet.batch(manager, sampler.next(t.microBatch()));
                        long tokens = batch.get(1).size();
                        long t2 = System.nanoTime();
                        // the blocks' forward pass; the LM head and the loss follow a chunk of rows at a time,
                        // each chunk's backward pass right after it (only one chunk's logits live at once),
                        // then the blocks' backward pass from the gradient the chunks left on the hidden states
                        NDArray h = Scoped.call(() -> model.hidden(batch.get(0)));
                        NDArray flat = h.reshape(tokens, h.getShape().get(2));
                        NDArray leaf = flat.stopGradient();
                        leaf.setRequiresGradient(true);
                        if (profile != null) {
                            StepProfile.sync(leaf);
                        }
                        long t3 = System.nanoTime();
                        double scale = (double) tokens * accumulation;
                        NDArray nll = Losses.chunkedNllSum(model, leaf, batch.get(1).reshape(tokens),
                                chunk -> collector.backward(Constants.div(chunk, scale)));
                        collector.backward(flat.mul(leaf.getGradient()).sum()); // d/dh = what the head sent back
                        NDArray value = Constants.div(nll, tokens); // the micro-batch's mean loss, on the device
                        NDScope.unregister(value);
                        losses.add(value);
                        if (profile != null) {
                            StepProfile.sync(anyGradient(nll));
                            long t4 = System.nanoTime();
                            profile.dataNs += t2 - t1;
                            profile.forwardNs += t3 - t2;
                            profile.backwardNs += t4 - t3;
                        }
                    }
                }
            }
            for (double l : Host.stacked(losses)) { // float32 losses added in double, in micro-batch order
                lossSum += l;
            }
        } finally {
            losses.forEach(NDArray::close);
        }
        double loss = step + 1 == TestHooks.nanAtStep() ? Double.NaN : lossSum / accumulation;
        if (!Double.isFinite(loss)) {
            return loss;
        }
        long t5 = System.nanoTime();
        try (NDScope ignored = new NDScope()) {
            Map<String, NDArray> grads = model.gradients(); // dL/dS by the straight-through rule; dense: autograd's
            if (t.gradClip() != null) {
                double norm = AdamW.gradNorm(grads);
                if (norm > t.gradClip()) {
                    AdamW.scaleGradients(grads, t.gradClip() / norm);
                }
            }
            optimizer.step(lr, grads);
        }
        model.clearGradients();
        if (profile != null) {
            StepProfile.sync(anyTrained());
            profile.optimizerNs += System.nanoTime() - t5;
            profile.steps++;
        }
        return loss;
    }

    /** Appends a line to metrics.jsonl; a failing write (a full disk) stops the run saying what to do. */
    private void appendMetrics(Map<String, Object> line) {
        try {
            run.appendMetrics(line);
        } catch (IOException e) {
            throw cannotWrite(RunDirectory.METRICS, e);
        }
    }

    private UserError cannotWrite(String file, IOException e) {
        return new UserError("cannot write " + run.path().resolve(file) + " (" + e.getMessage() + "): free disk space or "
                + "fix permissions, then " + (savedStep >= 0 ? "continue from the checkpoint of step " + savedStep
                + " (it holds its own copy of the metrics) with ./slt resume " + run.path()
                : "start again: no checkpoint was written yet (./slt train --config "
                        + run.path().resolve(RunDirectory.CONFIG) + " --force)"));
    }

    /** The first trained tensor (null if nothing trains): what profiled phases wait for. */
    private NDArray anyTrained() {
        return model.trainable().values().stream().findFirst().map(Parameter::getArray).orElse(null);
    }

    /** The gradient autograd accumulated for the first trained tensor, or {@code fallback} when nothing trains. */
    private NDArray anyGradient(NDArray fallback) {
        for (MaskedBlock w : model.weights()) {
            if (w.role() != MaskedBlock.Role.FROZEN) {
                return w.effectiveWeight().getGradient();
            }
        }
        return fallback;
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

    /**
     * Saves everything needed to continue exactly: trained tensors, AdamW moments and step count,
     * the sampler position, the log accumulators, best-so-far, plus copies of the config and of
     * the metrics so far. The LR schedule is a function of the step; all randomness is a function
     * of train.seed and positions, so no RNG state exists to save.
     */
    private void saveCheckpoint(boolean isBest) throws IOException {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        Map<String, NDArray> moments = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : model.trainable().entrySet()) {
            tensors.put(e.getKey(), e.getValue().getArray());
            NDArray[] mv = optimizer.moments(e.getKey());
            moments.put(e.getKey() + ".exp_avg", mv[0]);
            moments.put(e.getKey() + ".exp_avg_sq", mv[1]);
        }
        RunState state = new RunState(step, sampler.position(), optimizer.steps(), bestValLoss, bestStep, lastValLoss,
                lastValStep, trainingSeconds, lossSinceLog, stepsSinceLog);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(RunDirectory.CONFIG, Files.readAllBytes(run.path().resolve(RunDirectory.CONFIG)));
        files.put(RunDirectory.METRICS, Files.readAllBytes(run.path().resolve(RunDirectory.METRICS)));
        try {
            checkpoints.save(tensors, moments, state, files, isBest, config.train().keepCheckpoints());
            savedStep = step;
        } catch (IOException e) {
            String what = "cannot write the checkpoint of step " + step + " in " + checkpoints.root() + " (" + e.getMessage() + "); ";
            throw new UserError(savedStep >= 0
                    ? what + "the previous checkpoint (step " + savedStep + ") is intact: free disk space or fix permissions, "
                            + "then ./slt resume " + run.path()
                    : what + "this run has no checkpoint yet, so there is nothing to resume: free disk space or fix "
                            + "permissions, then start it again with ./slt train --config "
                            + run.path().resolve(RunDirectory.CONFIG) + " --force");
        }
    }

    /** Loads a checkpoint's tensors, optimizer and run state, and puts metrics.jsonl back as it was then. */
    private void restore(Checkpoints.Checkpoint ckpt) throws IOException {
        Map<String, NDArray> saved = SafeTensors.read(ckpt.model(), manager);
        model.loadTrainable(saved);
        saved.values().forEach(NDArray::close);
        Map<String, NDArray> moments = SafeTensors.read(ckpt.optimizer(), manager);
        List<String> expected = new ArrayList<>();
        for (String name : model.trainable().keySet()) {
            NDArray[] mv = optimizer.moments(name);
            copyInto(mv[0], moments.get(name + ".exp_avg"), name + ".exp_avg");
            copyInto(mv[1], moments.get(name + ".exp_avg_sq"), name + ".exp_avg_sq");
            expected.add(name + ".exp_avg");
            expected.add(name + ".exp_avg_sq");
        }
        if (!moments.keySet().containsAll(expected) || moments.size() != expected.size()) {
            throw new IOException(ckpt.optimizer() + " holds " + moments.keySet() + ", expected " + expected);
        }
        moments.values().forEach(NDArray::close);
        RunState s = ckpt.state();
        step = s.step();
        savedStep = step;
        optimizer.setSteps(s.optimizerSteps());
        sampler.seek(s.samplerPosition());
        bestValLoss = s.bestValLoss();
        bestStep = s.bestStep();
        lastValLoss = s.lastValLoss();
        lastValStep = s.lastValStep();
        trainingSeconds = s.trainingSeconds();
        lossSinceLog = s.lossSinceLog();
        stepsSinceLog = s.stepsSinceLog();
        byte[] metrics = Files.readAllBytes(ckpt.dir().resolve(RunDirectory.METRICS));
        Checkpoints.replaceDurably(run.path().resolve(RunDirectory.METRICS), metrics);
        checkpoints.removeStaleTemporaries();
    }

    private static void copyInto(NDArray target, NDArray saved, String name) throws IOException {
        if (saved == null || !saved.getShape().equals(target.getShape())) {
            throw new IOException("optimizer state " + name + " is missing or has the wrong shape");
        }
        target.set(new NDIndex("..."), saved.toDevice(target.getDevice(), false));
    }

    private static void testWriteHook(Path tmp, long savingStep) throws IOException {
        String fail = TestHooks.failCheckpointWrite();
        if (fail != null) {
            throw new IOException(fail);
        }
        long pause = TestHooks.pauseInCheckpointWriteMs();
        if (pause > 0 && savingStep >= TestHooks.pauseFromStep()) {
            Files.writeString(tmp.resolve("PAUSED"), "paused mid-write");
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Files.deleteIfExists(tmp.resolve("PAUSED"));
        }
    }

    /** Totals of the run, and the counts that place it on the paper's Fig. 7 x-axis. */
    private Map<String, Object> summary() {
        long total = 0;
        long nonzero = 0;
        MaskSelector.update(model.weights(), config.slt().density(), config.slt().scope());
        try (NDScope ignored = new NDScope()) {
            List<NDArray> kept = new ArrayList<>();
            for (MaskedBlock w : model.weights()) {
                total += w.numel();
                if (w.role() == MaskedBlock.Role.MASKED) {
                    kept.add(w.mask().toType(DataType.BOOLEAN, false).sum()); // int64: exact at any size
                } else {
                    nonzero += w.numel();
                }
            }
            for (double k : Host.stacked(kept)) {
                nonzero += (long) k;
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
        s.put("tokens_per_s", trainingSeconds > 0 ? step * config.train().batchSize() * config.data().seqLen() / trainingSeconds : 0);
        s.put("train_flops", Flops.trainingPerToken(model.spec(), config.data().seqLen()) * step
                * config.train().batchSize() * config.data().seqLen());
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
        run.unlock();
    }
}
