package slt.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import slt.checkpoint.Checkpoints;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.train.RunDirectory;

/**
 * Where a sweep point stands, read from disk only: done (its summary.json exists), partial (a
 * checkpoint exists: resume), failed (its last attempt exited with an error), queued, or stale
 * (its run used settings the sweep file no longer has). A run whose only differences are keys a
 * resume may change (a longer train.epochs, intervals, device) is resumed with the new values.
 */
public record PointState(Sweep.Point point, State state, long step, long totalSteps, OptionalDouble bestValLoss) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** STALE: the point's run was trained with settings the sweep file no longer has (not resumable ones). */
    public enum State { DONE, PARTIAL, FAILED, QUEUED, RUNNING, STALE }

    /** The state of {@code p} as its files say. */
    public static PointState of(Sweep sweep, Sweep.Point p) {
        Path run = p.runDir();
        List<String> changed = changedKeys(p);
        State s;
        if (changed.stream().anyMatch(k -> !Config.RESUMABLE_KEYS.contains(k))) {
            s = State.STALE;
        } else if (Files.exists(run.resolve("summary.json")) && !changed.contains("train.epochs")) {
            s = State.DONE;
        } else if (Files.exists(failedMarker(sweep, p))) {
            s = State.FAILED;
        } else if (hasCheckpoint(run)) {
            s = State.PARTIAL;
        } else {
            s = State.QUEUED;
        }
        long step = 0;
        double best = Double.POSITIVE_INFINITY;
        Path metrics = run.resolve("metrics.jsonl");
        if (Files.exists(metrics)) {
            try {
                for (String line : Files.readAllLines(metrics)) {
                    JsonNode n = JSON.readTree(line);
                    step = Math.max(step, n.path("step").asLong());
                    if (n.has("val_loss") && n.path("step").asLong() > 0 && n.get("val_loss").isNumber()) {
                        best = Math.min(best, n.get("val_loss").asDouble());
                    }
                }
            } catch (IOException e) {
                // a line being written: report what was read
            }
        }
        return new PointState(p, s, step, p.config().train().totalSteps(),
                Double.isFinite(best) ? OptionalDouble.of(best) : OptionalDouble.empty());
    }

    /**
     * Config keys whose value in the point's run directory differs from what the sweep file now
     * gives the point (empty when they agree or nothing ran yet).
     */
    public static List<String> changedKeys(Sweep.Point p) {
        Path cfg = p.runDir().resolve(RunDirectory.CONFIG);
        if (!Files.isRegularFile(cfg)) {
            return List.of();
        }
        return ConfigLoader.diff(ConfigLoader.load(cfg, null), p.config().resolved());
    }

    /** A copy with another state (the runner knows which points are running). */
    public PointState with(State s) {
        return new PointState(point, s, step, totalSteps, bestValLoss);
    }

    static boolean hasCheckpoint(Path runDir) {
        try {
            return !new Checkpoints(runDir).steps().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /** Logs of the sweep's points. */
    public static Path logDir(Sweep sweep) {
        return sweep.dir().resolve("logs");
    }

    static Path failedMarker(Sweep sweep, Sweep.Point p) {
        return logDir(sweep).resolve(p.name() + ".failed");
    }

    /** A one-line count of states, e.g. {@code done 3 | running 2 | queued 19 | failed 0}. */
    public static String counts(List<PointState> states) {
        long[] n = new long[State.values().length];
        for (PointState s : states) {
            n[s.state().ordinal()]++;
        }
        String line = String.format("done %d | running %d | queued %d | partial %d | failed %d", n[State.DONE.ordinal()],
                n[State.RUNNING.ordinal()], n[State.QUEUED.ordinal()], n[State.PARTIAL.ordinal()], n[State.FAILED.ordinal()]);
        return n[State.STALE.ordinal()] == 0 ? line : line + " | stale " + n[State.STALE.ordinal()];
    }
}
