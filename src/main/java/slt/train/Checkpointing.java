package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import slt.UserError;
import slt.checkpoint.Checkpoints;
import slt.checkpoint.RunState;
import slt.checkpoint.SafeTensors;
import slt.config.Config;
import slt.model.Gpt2;
import slt.model.StateMismatch;

/**
 * Checkpoints: saved every {@code train.checkpoint_every} steps, at the last step, at a new best
 * validation loss and before a requested stop; restored by a resume. A checkpoint holds everything
 * needed to continue exactly: trained tensors, AdamW moments, the {@link RunState}, and copies of
 * the config and of the metrics so far. The LR schedule is a function of the step; all randomness
 * is a function of train.seed and positions, so no RNG state exists to save.
 */
final class Checkpointing implements TrainingListener {
    private final Checkpoints checkpoints;
    private long savedStep = -1;

    Checkpointing(Checkpoints checkpoints) {
        this.checkpoints = checkpoints;
    }

    Checkpoints checkpoints() {
        return checkpoints;
    }

    /** The step of the last checkpoint this run wrote or resumed from (-1: none yet). */
    long savedStep() {
        return savedStep;
    }

    @Override
    public void onStepEnd(Trainer trainer, StepEnd end) throws IOException {
        if (end.initial()) {
            return;
        }
        if (end.step() % trainer.config().train().checkpointInterval() == 0 || end.last() || end.newBest() || end.stop()) {
            save(trainer, end.newBest());
        }
    }

    private void save(Trainer trainer, boolean isBest) throws IOException {
        Gpt2 model = trainer.model();
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        Map<String, NDArray> moments = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : model.trainable().entrySet()) {
            tensors.put(e.getKey(), e.getValue().getArray());
            NDArray[] mv = trainer.optimizer().moments(e.getKey());
            moments.put(e.getKey() + ".exp_avg", mv[0]);
            moments.put(e.getKey() + ".exp_avg_sq", mv[1]);
        }
        RunDirectory run = trainer.runDirectory();
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(RunDirectory.CONFIG, Files.readAllBytes(run.path().resolve(RunDirectory.CONFIG)));
        files.put(RunDirectory.METRICS, Files.readAllBytes(run.path().resolve(RunDirectory.METRICS)));
        long step = trainer.step();
        Config.Train t = trainer.config().train();
        try {
            checkpoints.save(tensors, moments, trainer.state(), files, isBest, t.keepCheckpoints());
            savedStep = step;
        } catch (IOException e) {
            String what = "cannot write the checkpoint of step " + step + " in " + checkpoints.root() + " (" + e.getMessage() + "); ";
            throw savedStep >= 0
                    ? new UserError(what + "the previous checkpoint (step " + savedStep + ") is intact: free disk space or "
                            + "fix permissions, then", new UserError.Fix.Resume(run.path()), e)
                    : new UserError(what + "this run has no checkpoint yet, so there is nothing to resume: free disk space "
                            + "or fix permissions, then", new UserError.Fix.Restart(run.path().resolve(RunDirectory.CONFIG)), e);
        }
    }

    /**
     * Loads {@code ckpt}'s tensors and AdamW moments into {@code trainer}, puts metrics.jsonl back as
     * it was then, positions the sampler, and returns the checkpoint's state.
     */
    RunState restore(Checkpoints.Checkpoint ckpt, Trainer trainer) throws IOException {
        Gpt2 model = trainer.model();
        AdamW optimizer = trainer.optimizer();
        loadTrainable(model, ckpt.model(), trainer.manager());
        Map<String, NDArray> moments = SafeTensors.read(ckpt.optimizer(), trainer.manager());
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
        savedStep = s.step();
        optimizer.setSteps(s.optimizerSteps());
        trainer.trainSet().sampler().seek(s.samplerPosition());
        byte[] metrics = Files.readAllBytes(ckpt.dir().resolve(RunDirectory.METRICS));
        Checkpoints.replaceDurably(trainer.runDirectory().path().resolve(RunDirectory.METRICS), metrics);
        checkpoints.removeStaleTemporaries();
        return s;
    }

    /** Reads the trained tensors saved in {@code file} into {@code model}, in place; their names and shapes must be the model's. */
    static void loadTrainable(Gpt2 model, Path file, NDManager manager) throws IOException {
        Map<String, NDArray> saved = SafeTensors.read(file, manager);
        try {
            Map<String, Parameter> params = model.trainable();
            if (!params.keySet().equals(saved.keySet())) {
                throw new StateMismatch("saved tensors " + saved.keySet() + " do not match the model's " + params.keySet());
            }
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray target = e.getValue().getArray();
                NDArray src = saved.get(e.getKey());
                if (!src.getShape().equals(target.getShape())) {
                    throw new StateMismatch(e.getKey() + ": saved shape " + src.getShape() + " != " + target.getShape());
                }
                target.set(new NDIndex("..."), src.toDevice(target.getDevice(), false));
            }
        } finally {
            saved.values().forEach(NDArray::close);
        }
    }

    private static void copyInto(NDArray target, NDArray saved, String name) throws IOException {
        if (saved == null || !saved.getShape().equals(target.getShape())) {
            throw new IOException("optimizer state " + name + " is missing or has the wrong shape");
        }
        target.set(new NDIndex("..."), saved.toDevice(target.getDevice(), false));
    }
}
