package slt.train;

import ai.djl.Device;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.UserError;
import slt.checkpoint.Checkpoints;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.data.Corpus;
import slt.data.TokenFile;
import slt.data.TokenWindows;
import slt.data.WindowSampler;
import slt.model.StateMismatch;

/**
 * How a {@link Trainer} comes to be: a new run (data first, so that a data problem creates no
 * directory; then the run directory), a resumed one (which config keys a resume may change, which
 * checkpoint it continues from), or one on random tokens for benchmarks.
 */
final class RunSetup {
    private static final Logger LOG = LogManager.getLogger(RunSetup.class);

    private RunSetup() {}

    /** Prepares a new run: data first (so a data problem creates no directory), then the run directory. */
    static Trainer create(Config config, boolean force) {
        Devices.configureThreads(config.run().threads());
        Config resolved = config.resolved();
        Config.Train t = resolved.train();
        TokenWindows train = Corpus.train(resolved.data(), t.seed(), t.microBatch());
        TokenWindows valid = Corpus.eval(resolved.data(), Config.Split.VALID, t.microBatch());
        List<Device> devices = Devices.resolve(resolved.run());
        RunDirectory run = RunDirectory.create(Path.of(resolved.run().dir(), resolved.runName()), force);
        Trainer trainer;
        try {
            run.writeConfig(resolved);
            trainer = new Trainer(resolved, run, train, valid, devices);
        } catch (IOException e) {
            run.unlock();
            throw new UserError("cannot write " + run.path().resolve(RunDirectory.CONFIG) + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            run.unlock();
            throw e;
        }
        describe(trainer, config.slt().qkScale());
        return trainer;
    }

    /**
     * A trainer for speed measurements ({@code slt bench}): the config's model and optimizer on
     * uniformly random token windows, with {@code scratch} as its run directory (nothing is
     * written there unless {@link Trainer#run()} is called).
     */
    static Trainer forBenchmark(Config config, Path scratch) {
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
        return new Trainer(resolved, new RunDirectory(scratch), train, valid, Devices.resolve(resolved.run()));
    }

    /**
     * Continues the run in {@code runDir} from its newest intact checkpoint. {@code overrides} may
     * change only {@link Config#RESUMABLE_KEYS}; a checkpoint written under another config is refused.
     */
    static Trainer resume(Path runDir, List<String> overrides) {
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
                    + " has no intact checkpoint to resume from:", new UserError.Fix.Restart(runDir.resolve(RunDirectory.CONFIG))));
            Config saved = ConfigLoader.loadRecorded(ckpt.dir().resolve(RunDirectory.CONFIG), null);
            for (String key : ConfigLoader.diff(saved, original)) {
                if (!Config.RESUMABLE_KEYS.contains(key)) {
                    throw new UserError("checkpoint " + ckpt.dir() + " was written with a different " + key + " than "
                            + runDir.resolve(RunDirectory.CONFIG) + " says: that file was edited; restore it (the "
                            + "checkpoint holds a copy) or start a new run");
                }
            }
        } catch (IOException e) {
            throw new UserError("cannot read the checkpoints of " + runDir + ": " + e.getMessage(), e);
        }
        if (changed.contains("run.replicas")) {
            LOG.warn("run.replicas changed: the same mathematics, but gradients are summed in another order, "
                    + "so the continuation is not bit-identical to an uninterrupted run");
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
        Trainer trainer = new Trainer(updated, run, train, valid, Devices.resolve(updated.run()));
        try {
            trainer.restore(ckpt);
            if (!changed.isEmpty()) {
                run.writeConfig(updated);
                LOG.info("resume changed {} (config.yaml updated)", changed);
            }
        } catch (UserError e) {
            trainer.close();
            throw e;
        } catch (IOException | StateMismatch e) { // a damaged file: the user's to fix; anything else is a bug and stays one
            trainer.close();
            throw new UserError("cannot restore checkpoint " + ckpt.dir() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            trainer.close();
            throw e;
        }
        describe(trainer, updated.slt().qkScale());
        LOG.info("resumed from {} at step {} of {}", ckpt.dir(), trainer.step(), t.totalSteps());
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

    private static void describe(Trainer trainer, String qkSpec) {
        Config config = trainer.config();
        Device device = trainer.device();
        LOG.info("run {} on {}: preset {} (d={}, heads={} with qk_dim {} and v_dim {}, layers={}), mode {}, density {}, "
                + "qk_scale {} ({}), seed {}",
                trainer.runDirectory().path(), device, config.model().preset().key(), config.dModel(), config.nHead(),
                config.qkDim(), config.vDim(),
                config.model().preset().layers(), config.slt().mode().name().toLowerCase(), config.slt().density(),
                String.format("%.4f", config.qkScale()), qkSpec, config.train().seed());
        LOG.info("data: {} training windows ({} tokens), {} validation windows of {} tokens",
                trainer.trainSet().windows(), trainer.trainSet().tokenCount(), trainer.validSet().windows(),
                config.data().seqLen());
        if (config.slt().mode() == Config.Mode.EDGEPOPUP && config.slt().density() * config.dModel() < 1) {
            LOG.warn("slt.density {} keeps fewer than one weight per row of {} on average: most units get no input, and "
                    + "the ticket can hardly learn (use >= {})", config.slt().density(), config.dModel(),
                    String.format("%.3g", 1.0 / config.dModel()));
        }
        LOG.info("precision: {} (train.precision {}){}", trainer.precision().name().toLowerCase(),
                config.train().precision().name().toLowerCase(), switch (trainer.precision()) {
                    case TF32 -> device.isGpu() ? ": fp32 products on TF32 tensor cores" : ": the CPU has no TF32, products in fp32";
                    case BF16 -> ": matrix products in bf16; LayerNorm, softmax, loss, scores and AdamW in fp32";
                    case FP16 -> ": matrix products in fp16 with dynamic loss scaling; LayerNorm, softmax, loss, scores and AdamW in fp32";
                    default -> ": strict fp32";
                });
        String allocator = Devices.allocator();
        LOG.info("memory allocator: {}{}", allocator, allocator.equals("jemalloc") || device.isGpu() ? ""
                : " (on CPU its heap grows for a few hundred steps; with libjemalloc2 installed the launcher uses jemalloc:"
                        + " flat memory, faster steps; docs/BENCHMARKS.md)");
        if (device.isGpu()) {
            Devices.Libtorch lib = Devices.libtorch();
            LOG.info("libtorch {} {} (CUDA {}), {} GPU(s); fp32 matmuls on TF32 tensor cores: {} ({}={}; only 1 turns them on)",
                    lib.version(), lib.flavour(), lib.cudaVersion(), lib.gpus(), Devices.tf32() ? "on" : "off",
                    Devices.TF32_ENV, Devices.tf32Value() == null ? "unset" : Devices.tf32Value());
        }
    }
}
