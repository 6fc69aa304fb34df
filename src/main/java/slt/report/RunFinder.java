package slt.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import slt.UserError;
import slt.sweep.Sweep;

/**
 * Finds the runs a report covers. An input is a sweep file (its runs are located with
 * {@link #sweepRunDir}) or a directory; a run directory is one holding {@code config.yaml}, found at
 * any depth and not searched further (its {@code checkpoints/} hold copies of the config).
 * Directories a forced run moved aside ({@code <name>.replaced-<time>}) and hidden ones are left
 * out. A run that cannot be read is skipped with its reason.
 */
final class RunFinder {
    private static final ObjectMapper YAML = new YAMLMapper();

    /** What was found: the runs read, and "path: reason" for each run left out. */
    record Found(List<RunRecord> runs, List<String> skipped) {}

    private RunFinder() {}

    static Found find(List<Path> inputs) {
        Map<Path, Path> dirs = new LinkedHashMap<>(); // real path -> path as the user named it
        List<String> skipped = new ArrayList<>();
        for (Path input : inputs) {
            Path root = isSweepFile(input) ? sweepRunDir(input) : checkedDirectory(input);
            List<Path> found = runDirs(root, skipped);
            if (found.isEmpty()) {
                throw new UserError("no run directories (holding " + RunRecord.CONFIG + ") found under " + root
                        + (root.equals(input) ? "" : " (the runs of sweep " + input + ")")
                        + ": pass a run directory or a directory containing runs, e.g. checkpoints");
            }
            for (Path d : found) {
                dirs.putIfAbsent(realPath(d), d);
            }
        }
        List<RunRecord> runs = new ArrayList<>();
        String firstFailure = null;
        for (Path d : dirs.values()) {
            try {
                runs.add(RunRecord.read(d));
            } catch (UserError e) {
                skipped.add(d + ": " + e.getMessage());
                firstFailure = firstFailure == null ? d + ": " + e.getMessage() : firstFailure;
            }
        }
        if (runs.isEmpty()) {
            throw new UserError("none of the " + dirs.size() + " run directories found could be read; the first: " + firstFailure);
        }
        return new Found(withoutCopies(runs, skipped), skipped);
    }

    /**
     * One run per grid point and seed: a copied run directory (same config, same seed) would count
     * as a second seed and shrink the spread. Keeps the run that got furthest (then the first by
     * path) and lists the others as skipped.
     */
    static List<RunRecord> withoutCopies(List<RunRecord> runs, List<String> skipped) {
        Map<List<Object>, RunRecord> kept = new LinkedHashMap<>();
        for (RunRecord r : runs) {
            List<Object> id = List.of(Aggregation.key(r.config()), r.seed());
            RunRecord other = kept.get(id);
            if (other == null) {
                kept.put(id, r);
                continue;
            }
            RunRecord keep = r.steps() > other.steps() || r.steps() == other.steps() && r.finished() && !other.finished()
                    ? r : other;
            RunRecord drop = keep == r ? other : r;
            kept.put(id, keep);
            skipped.add(drop.dir() + ": the same grid point and seed (" + drop.seed() + ") as " + keep.dir()
                    + " (a copy?): counted once, as " + keep.dir() + " (" + keep.steps() + " steps)");
        }
        return new ArrayList<>(kept.values());
    }

    /**
     * Where a sweep's runs live: {@code <run.dir>/<sweep file name without .yaml>}, run.dir being
     * the base config's after the sweep's {@code set} overrides (default "checkpoints"). The base
     * path is taken relative to the working directory, else to the sweep file's directory, as
     * {@code slt.sweep.Sweep} does. (The one place here that knows the sweep layout: it can become
     * {@code Sweep.load(sweepFile).dir()}.)
     */
    static Path sweepRunDir(Path sweepFile) {
        Path dir = Sweep.load(sweepFile).dir();
        if (!Files.isDirectory(dir)) {
            throw new UserError("sweep " + sweepFile + " has no runs yet: its run directory " + dir
                    + " does not exist (run the sweep first, or pass run directories)");
        }
        return dir;
    }

    private static boolean isSweepFile(Path input) {
        String n = input.getFileName() == null ? "" : input.getFileName().toString();
        return !Files.isDirectory(input) && (n.endsWith(".yaml") || n.endsWith(".yml"));
    }

    private static Path checkedDirectory(Path input) {
        if (!Files.exists(input)) {
            throw new UserError(input + " does not exist: pass a sweep file (.yaml) or a directory holding runs, e.g. checkpoints");
        }
        if (!Files.isDirectory(input)) {
            throw new UserError(input + " is neither a sweep file (.yaml) nor a directory: pass a sweep file or a directory holding runs");
        }
        return input;
    }

    /** Run directories under {@code root} (root itself included), sorted by path. */
    private static List<Path> runDirs(Path root, List<String> skipped) {
        List<Path> out = new ArrayList<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
                    if (!dir.equals(root) && name.startsWith(".")) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    if (!dir.equals(root) && name.contains(".replaced-")) {
                        skipped.add(dir + ": an old run moved aside when it was replaced");
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    if (Files.isRegularFile(dir.resolve(RunRecord.CONFIG))) {
                        out.add(dir);
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    skipped.add(file + ": unreadable (" + e.getClass().getSimpleName() + ")");
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UserError("cannot search " + root + " for runs: " + e.getMessage() + " (check its permissions)");
        }
        out.sort(null);
        return out;
    }

    private static Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }
}
