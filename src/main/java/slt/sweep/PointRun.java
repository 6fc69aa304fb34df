package slt.sweep;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.train.RunDirectory;
import slt.train.Trainer;

/**
 * Runs one sweep point in this process: nothing when it is done, a resume when it has a
 * checkpoint, a new run otherwise (an attempt that died before its first checkpoint is moved
 * aside, not deleted). The same code serves `slt sweep run` (one child process per point),
 * Slurm array tasks and Kubernetes indexed pods.
 */
public final class PointRun {
    private static final Logger LOG = LogManager.getLogger(PointRun.class);

    private PointRun() {}

    /** Trains or resumes point {@code index}; {@code onTrainer} receives the trainer (to wire signals). */
    public static void run(Sweep sweep, int index, java.util.function.Consumer<Trainer> onTrainer) throws IOException {
        if (index < 0 || index >= sweep.points().size()) {
            throw new slt.UserError("point index " + index + " is outside sweep " + sweep.file() + ", which has "
                    + sweep.points().size() + " points (0.." + (sweep.points().size() - 1) + ")");
        }
        Sweep.Point p = sweep.points().get(index);
        PointState s = PointState.of(sweep, p);
        Files.deleteIfExists(PointState.failedMarker(sweep, p));
        if (s.state() == PointState.State.DONE) {
            LOG.info("point {} ({}) is done: nothing to do", index, p.name());
            return;
        }
        if (s.state() == PointState.State.STALE) {
            throw new slt.UserError(staleMessage(p));
        }
        waitWhileHeld(p);
        boolean resume = PointState.hasCheckpoint(p.runDir());
        List<String> changes = resume ? overrides(p, PointState.changedKeys(p)) : List.of();
        LOG.info("point {} of {} ({}): {}{}", index, sweep.points().size(), p.name(), resume ? "resuming" : "starting",
                changes.isEmpty() ? "" : " with " + changes);
        try (Trainer t = resume ? Trainer.resume(p.runDir(), changes)
                : Trainer.create(p.config(), RunDirectory.holdsRun(p.runDir()))) {
            onTrainer.accept(t);
            t.run();
        }
    }

    /**
     * Waits while another process trains in the point's directory: the child of a runner that was
     * killed finishes its step and checkpoint before it lets go (see SweepRunner).
     */
    private static void waitWhileHeld(Sweep.Point p) {
        boolean said = false;
        while (RunDirectory.inUse(p.runDir())) {
            if (!said) {
                LOG.warn("point {} ({}) is held by another process{}: waiting for it to let go", p.index(), p.name(),
                        RunDirectory.holder(p.runDir()));
                said = true;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Why a stale point cannot run, and what to do. */
    static String staleMessage(Sweep.Point p) {
        List<String> keys = PointState.changedKeys(p).stream().filter(k -> !Config.RESUMABLE_KEYS.contains(k)).toList();
        return "point " + p.index() + " (" + p.name() + ") was trained with another " + String.join(", ", keys)
                + " than the sweep file now gives it: move " + p.runDir() + " away (or restore the sweep file), then run again";
    }

    /** {@code key=value} for each of {@code keys}, with the value the sweep now gives the point. */
    @SuppressWarnings("unchecked")
    private static List<String> overrides(Sweep.Point p, List<String> keys) {
        Map<String, Object> tree = ConfigLoader.toTree(p.config().resolved());
        return keys.stream().map(k -> {
            String[] sk = k.split("\\.", 2);
            return k + "=" + ((Map<String, Object>) tree.get(sk[0])).get(sk[1]);
        }).toList();
    }
}
