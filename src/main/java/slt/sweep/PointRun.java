package slt.sweep;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
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
        boolean resume = PointState.hasCheckpoint(p.runDir());
        LOG.info("point {} of {} ({}): {}", index, sweep.points().size(), p.name(), resume ? "resuming" : "starting");
        try (Trainer t = resume ? Trainer.resume(p.runDir(), List.of())
                : Trainer.create(p.config(), RunDirectory.holdsRun(p.runDir()))) {
            onTrainer.accept(t);
            t.run();
        }
    }
}
