package slt.train;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import slt.UserError;
import slt.checkpoint.Checkpoints;
import slt.checkpoint.Ticket;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.model.Gpt2;
import slt.model.ModelSpec;
import slt.model.StateMismatch;

/**
 * A trained model ready to evaluate, export or sample from, rebuilt from its seed and loaded from
 * a run's checkpoint (latest, best, or a given step) or from a ticket file. Masks are current.
 *
 * @param config the run's config
 * @param model the model, weights regenerated from train.seed, masks (or dense weights) loaded
 * @param step the optimizer step it was saved at
 * @param valLoss the validation loss the run measured at that step, or NaN if it did not evaluate then
 * @param source where it came from, for messages
 */
public record LoadedModel(Config config, NDManager manager, Gpt2 model, long step, double valLoss, String source)
        implements AutoCloseable {

    /** Which checkpoint of a run. */
    public enum Which { LATEST, BEST }

    /** From a run directory: the latest or best checkpoint, or the one of {@code step} when not null. */
    public static LoadedModel fromRun(Path runDir, Which which, Long step, List<String> overrides) {
        RunDirectory run = RunDirectory.open(runDir);
        Config config = ConfigLoader.loadRecorded(runDir.resolve(RunDirectory.CONFIG), overrides);
        Checkpoints ck = run.checkpoints();
        Checkpoints.Checkpoint c;
        try {
            c = (step != null ? ck.atStep(step) : which == Which.BEST ? ck.best() : ck.latest()).orElseThrow(() ->
                    new UserError(runDir + " has no " + (step != null ? "checkpoint of step " + step
                            : which == Which.BEST ? "best checkpoint" : "usable checkpoint") + " (checkpoints: "
                            + steps(ck) + "); a run saves one every train.checkpoint_every steps and at its end"));
        } catch (IOException e) {
            throw new UserError("cannot use the checkpoints of " + runDir + ": " + e.getMessage());
        }
        Devices.configureThreads(config.run().threads());
        NDManager manager = NDManager.newBaseManager(Devices.resolve(config.run().device()));
        try {
            Gpt2 model = create(config, manager);
            Checkpointing.loadTrainable(model, c.model(), manager);
            model.refreshMasks();
            double val = c.state().lastValStep() == c.step() ? c.state().lastValLoss() : Double.NaN;
            return new LoadedModel(config, manager, model, c.step(), val, c.dir().toString());
        } catch (IOException | StateMismatch e) { // damaged or foreign files: the user's to fix
            manager.close();
            throw new UserError("cannot load " + c.dir() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) { // anything else is a bug and stays one
            manager.close();
            throw e;
        }
    }

    /** From a ticket: the config it carries (plus {@code overrides}, e.g. data.path), weights from the seed, its masks. */
    public static LoadedModel fromTicket(Path file, List<String> overrides) {
        Ticket t;
        try {
            t = Ticket.read(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UserError("ticket " + file + " not found");
        } catch (IOException e) {
            throw new UserError("cannot read ticket " + file + ": " + e.getMessage());
        }
        Config config = ConfigLoader.loadText(t.configYaml(), file.toString(), overrides);
        Devices.configureThreads(config.run().threads());
        NDManager manager = NDManager.newBaseManager(Devices.resolve(config.run().device()));
        try {
            Gpt2 model = create(config, manager);
            t.applyTo(model);
            return new LoadedModel(config, manager, model, t.step(), t.valLoss(), file.toString());
        } catch (StateMismatch e) {
            manager.close();
            throw new UserError("ticket " + file + " does not fit its own config: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** The config's model on {@code manager}'s device, computing in the config's train.precision (as its run did). */
    private static Gpt2 create(Config config, NDManager manager) {
        Config.Precision p = Devices.applyPrecision(config.train().precision(), manager.getDevice());
        return Gpt2.create(ModelSpec.from(config), manager, p);
    }

    /** This model's ticket (seed and config + packed masks); edge-popup models only. */
    public Ticket ticket() {
        if (config.slt().mode() == Config.Mode.DENSE) {
            throw new UserError("a dense run has no ticket (its weights were trained): export its weights as safetensors instead");
        }
        return Ticket.of(model, ConfigLoader.toYaml(config), step, valLoss);
    }

    private static String steps(Checkpoints ck) {
        try {
            List<Long> s = ck.steps();
            return s.isEmpty() ? "none" : s.toString();
        } catch (IOException e) {
            return "unreadable";
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
