package slt.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.ProcessLock;
import slt.UserError;
import slt.checkpoint.Checkpoints;
import slt.config.Config;
import slt.config.ConfigLoader;

/**
 * The files of one run, {@code <run.dir>/<run.name>/}: {@code config.yaml} (the fully resolved
 * config), {@code metrics.jsonl} (one JSON object per log point), {@code summary.json} (at the
 * end) and {@code checkpoints/}.
 */
public final class RunDirectory {
    private static final Logger LOG = LogManager.getLogger(RunDirectory.class);
    public static final String CONFIG = "config.yaml";
    public static final String METRICS = "metrics.jsonl";
    public static final String SUMMARY = "summary.json";
    private static final ObjectMapper JSON = ConfigLoader.json();

    /** Held (an OS file lock) by the one process training in the directory; holds its pid. */
    public static final String LOCK = ".lock";

    private final Path dir;
    private ProcessLock lock;

    public RunDirectory(Path dir) {
        this.dir = dir;
    }

    public Path path() {
        return dir;
    }

    /** True when {@code dir} holds (part of) a run. */
    public static boolean holdsRun(Path dir) {
        return Files.exists(dir.resolve(CONFIG)) || Files.exists(dir.resolve(METRICS))
                || Files.exists(dir.resolve("checkpoints"));
    }

    /**
     * Creates the directory for a new run. A directory that already holds a run is refused,
     * unless {@code force}, which moves it aside to {@code <name>.replaced-<time>} (nothing is deleted).
     */
    public static RunDirectory create(Path dir, boolean force) {
        for (Path p = dir.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            if (Files.exists(p) && !Files.isDirectory(p)) {
                throw new UserError("run.dir: " + p + " is a file, not a directory: set run.dir to a directory");
            }
        }
        try {
            if (holdsRun(dir)) {
                if (!force) {
                    throw new UserError("run directory " + dir + " already holds a run: pick another run.name, or",
                            new UserError.Fix.Replace("the old run is moved aside"));
                }
                if (inUse(dir)) {
                    throw new UserError("run directory " + dir + " is in use by another slt process" + holder(dir)
                            + ": stop that run before replacing it, or pick another run.name");
                }
                Path aside = dir.resolveSibling(dir.getFileName() + ".replaced-"
                        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
                Files.move(dir, aside);
                LOG.warn("replacing the run: moved the previous run in {} to {}", dir, aside);
            }
            Files.createDirectories(dir);
            if (!Files.isWritable(dir)) {
                throw new UserError("run directory " + dir + " is not writable: fix its permissions or set run.dir");
            }
            RunDirectory run = new RunDirectory(dir);
            run.lockForTraining();
            return run;
        } catch (IOException e) {
            throw new UserError("cannot create run directory " + dir + ": " + e.getMessage()
                    + " (check permissions and free space, or set run.dir)");
        }
    }

    /** Opens the directory of an existing run, or fails naming what is missing. */
    public static RunDirectory open(Path dir) {
        if (!Files.isRegularFile(dir.resolve(CONFIG))) {
            throw new UserError(dir + " is not a run directory (no " + CONFIG + "): pass the directory a training run created, "
                    + "e.g. checkpoints/<run.name>");
        }
        return new RunDirectory(dir);
    }

    /**
     * Takes the directory's lock for this process until {@link #unlock()} or exit, so that two
     * processes never train (resume, or replace with --force) the same run at once.
     */
    public void lockForTraining() {
        Path f = dir.resolve(LOCK);
        try {
            lock = ProcessLock.tryTake(f).orElseThrow(() -> new UserError("run directory " + dir + " is in use by another "
                    + "slt process" + holder(dir) + ": wait for it to finish or stop it, then run this again"));
        } catch (IOException e) { // a file system without locks (some cluster mounts): train, unprotected
            LOG.warn("cannot lock {} ({}): nothing stops a second process from training this run at the same time",
                    f, e.getMessage());
        }
    }

    /** Gives the lock back. */
    public void unlock() {
        if (lock != null) {
            try {
                lock.close();
            } catch (IOException e) {
                LOG.warn("releasing {}: {}", dir.resolve(LOCK), e.getMessage());
            }
            lock = null;
        }
    }

    /** Whether some process (this one included) is training in {@code dir}. */
    public static boolean inUse(Path dir) {
        return ProcessLock.held(dir.resolve(LOCK));
    }

    /** " (pid N)" of the process training in {@code dir}, or "". */
    public static String holder(Path dir) {
        return ProcessLock.holder(dir.resolve(LOCK));
    }

    /** The run's resolved config. */
    public Config config() {
        return config(null);
    }

    /** The run's resolved config with {@code overrides} applied. */
    public Config config(java.util.List<String> overrides) {
        return ConfigLoader.loadRecorded(dir.resolve(CONFIG), overrides);
    }

    public void writeConfig(Config config) throws IOException {
        String header = "# Resolved config of run " + dir.getFileName() + " (every key; slt.qk_scale is numeric).\n";
        Checkpoints.replaceDurably(dir.resolve(CONFIG), (header + ConfigLoader.toYaml(config)).getBytes(StandardCharsets.UTF_8));
    }

    /** Appends one JSON object as a line to metrics.jsonl. */
    public void appendMetrics(Map<String, Object> line) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(dir.resolve(METRICS), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            w.write(JSON.writeValueAsString(line));
            w.write('\n');
        }
    }

    public void writeSummary(Map<String, Object> summary) throws IOException {
        Checkpoints.replaceDurably(dir.resolve(SUMMARY),
                JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(summary));
    }

    public Checkpoints checkpoints() {
        return new Checkpoints(dir);
    }
}
