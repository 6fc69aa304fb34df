package slt.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import slt.UserError;
import slt.model.Flops;

/**
 * {@code slt report}: reads the runs under the inputs (never writing to them), aggregates them
 * into points and writes into the output directory {@code results.csv}, {@code runs.csv},
 * {@code results.md}, the PNG plots and {@code index.html}.
 */
public final class Report {
    public static final String RESULTS_CSV = "results.csv";
    public static final String RUNS_CSV = "runs.csv";
    public static final String RESULTS_MD = "results.md";
    public static final String INDEX_HTML = "index.html";

    /** What a report shows, rendered as Markdown ({@link #markdown}) and HTML ({@link HtmlIndex}). */
    record Content(String title, List<String> header, List<Tables.Table> tables, List<Plots.Figure> figures,
            List<String> notes, List<String> files) {}

    /** What was written, for the command's output. */
    public record Summary(Path out, int runs, long unfinished, int points, int figures, List<String> notes,
            List<String> skipped) {}

    private Report() {}

    /**
     * Writes the report of the runs under {@code inputs} (sweep files or directories) into
     * {@code out}, which must be new or empty unless {@code force} (then the report's files are
     * replaced, the plots of the earlier report deleted, and nothing else touched).
     */
    public static Summary write(List<Path> inputs, Path out, boolean force) {
        RunFinder.Found found = RunFinder.find(inputs);
        Aggregation agg = Aggregation.of(found.runs());
        prepare(out, force);
        try {
            removePlots(out);
            Plots.Result plots = Plots.write(agg, out);
            List<String> notes = new ArrayList<>(plots.notes());
            found.skipped().forEach(s -> notes.add("Skipped " + s));
            Content content = new Content("SLT report", header(inputs, agg), Tables.display(agg), plots.figures(), notes,
                    List.of(RESULTS_CSV, RUNS_CSV, RESULTS_MD));
            write(out.resolve(RESULTS_CSV), Tables.pointsCsv(agg));
            write(out.resolve(RUNS_CSV), Tables.runsCsv(agg));
            write(out.resolve(RESULTS_MD), markdown(content));
            write(out.resolve(INDEX_HTML), HtmlIndex.render(content));
            return new Summary(out, agg.runs().size(), agg.unfinishedRuns(), agg.points().size(), plots.figures().size(),
                    plots.notes(), found.skipped());
        } catch (IOException e) {
            throw new UserError("cannot write the report into " + out + ": " + e.getMessage()
                    + " (check free space and permissions, or choose another directory)");
        }
    }

    /** What was aggregated and how; the first lines of results.md and index.html. */
    private static List<String> header(List<Path> inputs, Aggregation agg) {
        List<String> h = new ArrayList<>();
        h.add(String.format("%d runs (%d unfinished) from %s, aggregated into %d points.", agg.runs().size(),
                agg.unfinishedRuns(), inputs.stream().map(Path::toString).collect(Collectors.joining(", ")),
                agg.points().size()));
        h.add("A point is the runs whose resolved configs are equal except for "
                + Aggregation.IGNORED_KEYS.stream().sorted().collect(Collectors.joining(", "))
                + "; values are the mean ± sample standard deviation over its runs (seeds).");
        h.add("Best validation loss: best_val_loss of summary.json; for unfinished runs (no summary yet, marked *) "
                + "the best val_loss so far in metrics.jsonl. Perplexity: exp of each run's best loss.");
        h.add("Train FLOPs: train_flops of summary.json, else tokens trained × (" + Flops.formula() + ").");
        h.add("Cost against dense: each SLT point next to the dense point (slt.mode dense) of the same preset and width, "
                + "where one exists: loss difference, training time ratio and FLOP ratio.");
        if (!agg.varyingKeys().isEmpty()) {
            h.add("Config keys that vary across points: " + String.join(", ", agg.varyingKeys()) + ".");
        }
        return h;
    }

    /** results.md: the header, one table per preset, the plots and the notes. */
    static String markdown(Content c) {
        StringBuilder b = new StringBuilder("# ").append(c.title()).append("\n\n");
        c.header().forEach(line -> b.append("- ").append(line).append('\n'));
        for (Tables.Table t : c.tables()) {
            b.append("\n## ").append(t.title()).append("\n\n").append(Tables.markdown(t));
        }
        b.append("\n## Plots\n\n");
        for (Plots.Figure f : c.figures()) {
            b.append("### ").append(f.title()).append("\n\n![").append(f.title()).append("](").append(f.file())
                    .append(")\n\n").append(f.caption()).append("\n\n");
        }
        if (!c.notes().isEmpty()) {
            b.append("## Notes\n\n");
            c.notes().forEach(n -> b.append("- ").append(n).append('\n'));
        }
        b.append("\nFiles: ").append(c.files().stream().map(f -> "[" + f + "](" + f + ")").collect(Collectors.joining(", ")))
                .append('\n');
        return b.toString();
    }

    /** Refuses an output that is a file, lies in a run directory, or (without force) holds anything; then creates it. */
    private static void prepare(Path out, boolean force) {
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new UserError("report directory " + out + " is a file: name a directory (it is created if missing)");
        }
        for (Path p = out.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve(RunRecord.CONFIG))) {
                throw new UserError("report directory " + out + " is inside the run directory " + p
                        + ": a report never writes into a run; choose a directory outside it, e.g. reports/");
            }
        }
        if (Files.isDirectory(out) && !force && !isEmpty(out)) {
            throw new UserError("report directory " + out + " is not empty: choose a new directory, or",
                    new UserError.Fix.Replace("only the report's own files in it are replaced"));
        }
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UserError("cannot create report directory " + out + ": " + e.getMessage() + " (check permissions or choose another)");
        }
    }

    /** Deletes the plots of an earlier report in {@code out} (only those: a plot not drawn now must not linger). */
    private static void removePlots(Path out) throws IOException {
        Files.deleteIfExists(out.resolve(Plots.FIG7));
        Files.deleteIfExists(out.resolve(Plots.FIG8));
        Path curves = out.resolve(Plots.CURVES);
        if (Files.isDirectory(curves)) {
            try (Stream<Path> s = Files.list(curves)) {
                for (Path png : s.filter(p -> p.getFileName().toString().endsWith(".png")).toList()) {
                    Files.delete(png);
                }
            }
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new UserError("cannot read report directory " + dir + ": " + e.getMessage() + " (check its permissions)");
        }
    }

    private static void write(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
