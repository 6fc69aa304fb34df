package slt.theory;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * Writes an experiment's files: results.csv (one row per measurement), groups.csv (mean, std,
 * median, min, max per setting), fit.csv (gamma, delta and their 95 % intervals; not for the
 * length experiment, whose summary gives the growth per doubling of T instead), summary.md and
 * the PNG figure; returns the lines the command prints.
 */
public final class Outputs {
    private Outputs() {}

    /** The paper's Fig. 4 fit: error = 0.8 exp(-0.06 n_K). */
    public static final double PAPER_GAMMA = 0.8;
    public static final double PAPER_DELTA = 0.06;

    /** Statistics of one setting (hidden size, length, blocks) over its sources. */
    public record Group(int nHidden, int length, int blocks, int sources, double mean, double std, double median, double min,
            double max, double relMean, double qkMean, double voMean, double ffnMean, double keptMean, int maxItems) {}

    public static List<Group> groups(List<Experiments.Row> rows) {
        Map<List<Integer>, List<Experiments.Row>> by = new TreeMap<>((a, b) -> {
            for (int i = 0; i < a.size(); i++) {
                int c = Integer.compare(a.get(i), b.get(i));
                if (c != 0) {
                    return c;
                }
            }
            return 0;
        });
        for (Experiments.Row r : rows) {
            by.computeIfAbsent(List.of(r.blocks(), r.length(), r.nHidden()), k -> new ArrayList<>()).add(r);
        }
        List<Group> out = new ArrayList<>();
        by.forEach((k, rs) -> {
            double[] e = rs.stream().mapToDouble(Experiments.Row::error).sorted().toArray();
            double mean = Arrays.stream(e).average().orElse(Double.NaN);
            double std = e.length < 2 ? Double.NaN
                    : Math.sqrt(Arrays.stream(e).map(x -> (x - mean) * (x - mean)).sum() / (e.length - 1));
            double median = e.length % 2 == 1 ? e[e.length / 2] : (e[e.length / 2 - 1] + e[e.length / 2]) / 2;
            out.add(new Group(k.get(2), k.get(1), k.get(0), rs.size(), mean, std, median, e[0], e[e.length - 1],
                    avg(rs, Experiments.Row::relativeError), avg(rs, Experiments.Row::qkEntryError), avg(rs, Experiments.Row::voEntryError),
                    avg(rs, Experiments.Row::ffnEntryError), avg(rs, Experiments.Row::keptFraction),
                    rs.stream().mapToInt(Experiments.Row::maxItems).max().orElse(0)));
        });
        return out;
    }

    private static double avg(List<Experiments.Row> rs, ToDoubleFunction<Experiments.Row> f) {
        return rs.stream().mapToDouble(f).filter(Double::isFinite).average().orElse(Double.NaN);
    }

    /** One fit line for fit.csv and the summary. */
    public record FitLine(String series, String points, ExpFit.Fit fit) {}

    /** Writes every file into {@code dir}; returns the lines to print. */
    public static List<String> write(Experiments.Outcome o, Experiments.Common c, String command, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Group> groups = groups(o.rows());
        writeResults(o, c, dir.resolve("results.csv"));
        writeGroups(groups, dir.resolve("groups.csv"));
        List<String> print = new ArrayList<>();
        StringBuilder md = new StringBuilder();
        md.append("# slt theory ").append(o.experiment()).append("\n\n`").append(command).append("`\n\n");
        md.append("Error = mean over the test set of |pruned source output - target output|");
        md.append(o.experiment().equals("transformer") ? " (every position and coordinate of the last block's output)"
                : " (the output at the regression token)");
        md.append("; relative error = error / mean |target output|. ").append(c.sources()).append(" random sources per setting, ")
                .append(c.samples()).append(" test samples, source init `").append(c.init().label()).append("`, seed ")
                .append(c.seed()).append(".\n\n");
        for (Map.Entry<String, String> f : o.facts().entrySet()) {
            md.append("- ").append(f.getKey()).append(": ").append(f.getValue()).append("\n");
        }
        md.append("\n");
        List<FitLine> fits = new ArrayList<>();
        String figure;
        switch (o.experiment()) {
            case "mha" -> {
                figure = TheoryPlots.FIG4;
                fits.addAll(mhaFits(groups, c));
                md.append(table(groups, false, false));
                md.append("\n## Fit: error = gamma exp(-delta n_K)\n\n");
                md.append(fitTable(fits));
                md.append("\nThe paper (Fig. 4): error = ").append(PAPER_GAMMA).append(" exp(-").append(PAPER_DELTA)
                        .append(" n_K). ").append(compare(fits.get(0).fit())).append("\n");
                TheoryPlots.fig4(o.rows(), groups, fits.get(0).fit(), dir.resolve(figure));
            }
            case "length" -> {
                figure = TheoryPlots.FIG5;
                md.append(table(groups, true, false));
                md.append("\n## Boundedness in T\n\n").append(boundedness(groups, print)).append("\n");
                TheoryPlots.fig5(o.rows(), groups, dir.resolve(figure));
            }
            default -> {
                figure = TheoryPlots.FIG6;
                md.append(table(groups, false, true));
                ExpFit.Shared shared = sharedFit(groups);
                md.append("\n## Fit: error = gamma_b exp(-delta n), one delta shared by all block counts\n\n");
                md.append(sharedTable(groups, shared));
                for (int b : blockCounts(groups)) {
                    List<Group> gs = groups.stream().filter(g -> g.blocks() == b).toList();
                    fits.add(new FitLine("blocks = " + b + " (own delta)", "all sizes", ExpFit.logLinear(
                            gs.stream().mapToDouble(Group::nHidden).toArray(), gs.stream().mapToDouble(Group::mean).toArray())));
                }
                md.append("\nEach block count on its own:\n\n").append(fitTable(fits));
                md.append("\n").append(sharedVerdict(shared, fits)).append("\n");
                print.add(String.format(Locale.ROOT, "shared delta = %.4g [%.4g, %.4g] (95%% CI)", shared.delta(), shared.deltaLo(),
                        shared.deltaHi()));
                TheoryPlots.fig6(groups, shared, dir.resolve(figure));
                writeShared(groups, shared, fits, dir.resolve("fit.csv"));
            }
        }
        if (o.experiment().equals("mha")) {
            writeFits(fits, dir.resolve("fit.csv"));
        }
        md.append("\n![").append(figure).append("](").append(figure).append(")\n\n## Wall time\n\n");
        md.append("| phase | seconds |\n|---|---|\n");
        o.seconds().forEach((k, v) -> md.append("| ").append(k).append(" | ").append(String.format(Locale.ROOT, "%.1f", v)).append(" |\n"));
        md.append("\n").append(c.threads()).append(" threads on ").append(Runtime.getRuntime().availableProcessors())
                .append(" available cores.\n");
        Files.writeString(dir.resolve("summary.md"), md.toString(), StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>();
        boolean ffn = o.experiment().equals("transformer");
        lines.add(String.format(Locale.ROOT, "%-8s %-7s %-6s %11s %11s %11s %11s %11s%s", "n_hidden", "length", "blocks", "mean error",
                "std", "median", "qk entry", "vo entry", ffn ? String.format(Locale.ROOT, " %11s", "ffn entry") : ""));
        for (Group g : groups) {
            lines.add(String.format(Locale.ROOT, "%-8d %-7d %-6d %11.4g %11.4g %11.4g %11.4g %11.4g%s", g.nHidden(), g.length(),
                    g.blocks(), g.mean(), g.std(), g.median(), g.qkMean(), g.voMean(),
                    ffn ? String.format(Locale.ROOT, " %11.4g", g.ffnMean()) : ""));
        }
        for (FitLine f : fits) {
            lines.add(fitLine(f));
        }
        lines.addAll(print);
        lines.add(String.format(Locale.ROOT, "wall time %.1f s (%d threads); wrote %s: results.csv, groups.csv, %ssummary.md, %s",
                o.seconds().get("total"), c.threads(), dir, o.experiment().equals("length") ? "" : "fit.csv, ", figure));
        return lines;
    }

    private static List<FitLine> mhaFits(List<Group> groups, Experiments.Common c) {
        double[] n = groups.stream().mapToDouble(Group::nHidden).toArray();
        double[] e = groups.stream().mapToDouble(Group::mean).toArray();
        double[] rel = groups.stream().mapToDouble(Group::relMean).toArray();
        List<FitLine> fits = new ArrayList<>();
        fits.add(new FitLine("mean error", "all sizes", ExpFit.logLinear(n, e)));
        fits.add(new FitLine("mean error", "all sizes", ExpFit.nonlinear(n, e)));
        fits.add(new FitLine("mean relative error", "all sizes", ExpFit.logLinear(n, rel)));
        int exactMax = switch (c.solverKind()) {
            case EXACT -> SubsetSum.EXACT_LIMIT;
            case AUTO -> c.exactMax();
            case NEAR_EXACT -> c.core();
        };
        List<Group> exact = groups.stream().filter(g -> g.maxItems() <= exactMax).toList();
        if (exact.size() >= 3 && exact.size() < groups.size()) {
            fits.add(new FitLine("mean error", "sizes solved exactly (<= " + exactMax + " values per entry)", ExpFit.logLinear(
                    exact.stream().mapToDouble(Group::nHidden).toArray(), exact.stream().mapToDouble(Group::mean).toArray())));
        }
        return fits;
    }

    private static String compare(ExpFit.Fit f) {
        if (!f.valid()) {
            return "No fit (fewer than two sizes with a positive error).";
        }
        boolean gIn = f.gammaLo() <= PAPER_GAMMA && PAPER_GAMMA <= f.gammaHi();
        boolean dIn = f.deltaLo() <= PAPER_DELTA && PAPER_DELTA <= f.deltaHi();
        return String.format(Locale.ROOT, "Here (least squares on ln error, all sizes): gamma = %.3g (paper's 0.8 %s its 95%% interval), "
                + "delta = %.3g (paper's 0.06 %s its 95%% interval); at n_K = 100 this fit gives %.3g, the paper's %.3g.",
                f.gamma(), gIn ? "inside" : "outside", f.delta(), dIn ? "inside" : "outside", f.at(100), PAPER_GAMMA * Math.exp(-PAPER_DELTA * 100));
    }

    private static String boundedness(List<Group> groups, List<String> print) {
        StringBuilder sb = new StringBuilder();
        sb.append("| n_hidden | T range | mean error at smallest T | largest mean error over T (at T) | max / first | "
                + "growth per doubling of T (log-log slope, 95% CI) |\n|---|---|---|---|---|---|\n");
        Map<Integer, List<Group>> byN = groups.stream().collect(Collectors.groupingBy(Group::nHidden, TreeMap::new, Collectors.toList()));
        byN.forEach((n, gs) -> {
            List<Group> s = gs.stream().sorted((a, b) -> Integer.compare(a.length(), b.length())).toList();
            Group first = s.get(0);
            Group worst = s.stream().max((a, b) -> Double.compare(a.mean(), b.mean())).get();
            double[] x = s.stream().mapToDouble(g -> Math.log(g.length()) / Math.log(2)).toArray();
            double[] y = s.stream().mapToDouble(Group::mean).toArray();
            // ln e = a + b log2 T: fit with the n-slot of the exponential fit (delta = -b)
            ExpFit.Fit f = ExpFit.logLinear(x, y);
            double growth = Math.exp(-f.delta());
            String line = String.format(Locale.ROOT, "| %d | %d..%d | %.4g | %.4g (T = %d) | %.3g | x%.3g [%.3g, %.3g] |", n, first.length(),
                    s.get(s.size() - 1).length(), first.mean(), worst.mean(), worst.length(), worst.mean() / first.mean(), growth,
                    Math.exp(-f.deltaHi()), Math.exp(-f.deltaLo()));
            sb.append(line).append("\n");
            print.add(String.format(Locale.ROOT, "n_hidden %d: mean error %.4g at T = %d, largest %.4g at T = %d; factor per doubling of T x%.3g",
                    n, first.mean(), first.length(), worst.mean(), worst.length(), growth));
        });
        return sb.toString();
    }

    private static List<Integer> blockCounts(List<Group> groups) {
        return groups.stream().map(Group::blocks).distinct().sorted().toList();
    }

    private static ExpFit.Shared sharedFit(List<Group> groups) {
        List<double[]> ns = new ArrayList<>();
        List<double[]> es = new ArrayList<>();
        for (int b : blockCounts(groups)) {
            List<Group> gs = groups.stream().filter(g -> g.blocks() == b).toList();
            ns.add(gs.stream().mapToDouble(Group::nHidden).toArray());
            es.add(gs.stream().mapToDouble(Group::mean).toArray());
        }
        return ExpFit.sharedSlope(ns, es);
    }

    private static String sharedTable(List<Group> groups, ExpFit.Shared s) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "delta = %.4g, 95%% CI [%.4g, %.4g]; %d points, R^2 (ln error) = %.4f\n\n", s.delta(), s.deltaLo(),
                s.deltaHi(), s.points(), s.r2()));
        sb.append("| blocks | gamma_b | 95% CI |\n|---|---|---|\n");
        List<Integer> bs = blockCounts(groups);
        for (int i = 0; i < bs.size(); i++) {
            sb.append(String.format(Locale.ROOT, "| %d | %.4g | [%.4g, %.4g] |\n", bs.get(i), s.gamma()[i], s.gammaLo()[i], s.gammaHi()[i]));
        }
        return sb.toString();
    }

    private static String sharedVerdict(ExpFit.Shared s, List<FitLine> own) {
        int inside = 0;
        for (FitLine f : own) {
            if (f.fit().valid() && f.fit().deltaLo() <= s.delta() && s.delta() <= f.fit().deltaHi()) {
                inside++;
            }
        }
        return String.format(Locale.ROOT, "The shared delta %.4g lies inside %d of the %d per-block 95%% intervals.", s.delta(), inside, own.size());
    }

    private static String table(List<Group> groups, boolean byLength, boolean byBlocks) {
        StringBuilder sb = new StringBuilder();
        sb.append("| ").append(byBlocks ? "blocks | " : "").append("n_hidden | ").append(byLength ? "T | " : "")
                .append("mean error | std | median | min | max | mean relative error | mean max Q/K entry error | mean max V/O entry error | ")
                .append(byBlocks ? "mean max FFN entry error | " : "").append("kept fraction | values per entry (max) |\n|");
        int cols = 11 + (byBlocks ? 2 : 0) + (byLength ? 1 : 0);
        sb.append("---|".repeat(cols)).append("\n");
        for (Group g : groups) {
            sb.append("| ");
            if (byBlocks) {
                sb.append(g.blocks()).append(" | ");
            }
            sb.append(g.nHidden()).append(" | ");
            if (byLength) {
                sb.append(g.length()).append(" | ");
            }
            sb.append(String.format(Locale.ROOT, "%.4g | %.4g | %.4g | %.4g | %.4g | %.4g | %.3g | %.3g | ", g.mean(), g.std(), g.median(),
                    g.min(), g.max(), g.relMean(), g.qkMean(), g.voMean()));
            if (byBlocks) {
                sb.append(String.format(Locale.ROOT, "%.3g | ", g.ffnMean()));
            }
            sb.append(String.format(Locale.ROOT, "%.3f | %d |\n", g.keptMean(), g.maxItems()));
        }
        return sb.toString();
    }

    private static String fitTable(List<FitLine> fits) {
        StringBuilder sb = new StringBuilder("| series | points | method | gamma | 95% CI | delta | 95% CI | R^2 |\n|---|---|---|---|---|---|---|---|\n");
        for (FitLine f : fits) {
            ExpFit.Fit x = f.fit();
            sb.append(String.format(Locale.ROOT, "| %s | %s (%d) | %s | %.4g | [%.4g, %.4g] | %.4g | [%.4g, %.4g] | %.4f |\n", f.series(),
                    f.points(), x.points(), x.method(), x.gamma(), x.gammaLo(), x.gammaHi(), x.delta(), x.deltaLo(), x.deltaHi(), x.r2()));
        }
        return sb.toString();
    }

    private static String fitLine(FitLine f) {
        ExpFit.Fit x = f.fit();
        return String.format(Locale.ROOT, "fit %s, %s, %s: gamma = %.4g [%.4g, %.4g], delta = %.4g [%.4g, %.4g] (95%% CI)", f.series(),
                f.points(), x.method(), x.gamma(), x.gammaLo(), x.gammaHi(), x.delta(), x.deltaLo(), x.deltaHi());
    }

    private static void writeResults(Experiments.Outcome o, Experiments.Common c, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("experiment,n_hidden,source,length,train_length,blocks,error,relative_error,qk_entry_error,vo_entry_error,"
                    + "ffn_entry_error,kept_fraction,max_items,init,solver\n");
            for (Experiments.Row r : o.rows()) {
                w.write(String.join(",", r.experiment(), Integer.toString(r.nHidden()), Integer.toString(r.source()),
                        Integer.toString(r.length()), r.trainLength() == 0 ? "" : Integer.toString(r.trainLength()),
                        Integer.toString(r.blocks()), num(r.error()), num(r.relativeError()), num(r.qkEntryError()), num(r.voEntryError()),
                        num(r.ffnEntryError()), num(r.keptFraction()), Integer.toString(r.maxItems()), c.init().label(),
                        c.solverKind().label()));
                w.write("\n");
            }
        }
    }

    private static void writeGroups(List<Group> groups, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("n_hidden,length,blocks,sources,mean_error,std_error,median_error,min_error,max_error,mean_relative_error,"
                    + "mean_qk_entry_error,mean_vo_entry_error,mean_ffn_entry_error,mean_kept_fraction,max_items\n");
            for (Group g : groups) {
                w.write(String.join(",", Integer.toString(g.nHidden()), Integer.toString(g.length()), Integer.toString(g.blocks()),
                        Integer.toString(g.sources()), num(g.mean()), num(g.std()), num(g.median()), num(g.min()), num(g.max()),
                        num(g.relMean()), num(g.qkMean()), num(g.voMean()), num(g.ffnMean()), num(g.keptMean()), Integer.toString(g.maxItems())));
                w.write("\n");
            }
        }
    }

    private static final String FIT_HEADER = "series,points,method,gamma,gamma_lo,gamma_hi,delta,delta_lo,delta_hi,n_points,r2\n";

    private static void writeFits(List<FitLine> fits, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write(FIT_HEADER);
            for (FitLine f : fits) {
                w.write(fitCsv(f.series(), f.points(), f.fit()));
            }
        }
    }

    private static void writeShared(List<Group> groups, ExpFit.Shared s, List<FitLine> own, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write(FIT_HEADER);
            List<Integer> bs = blockCounts(groups);
            for (int i = 0; i < bs.size(); i++) {
                w.write(fitCsv("blocks = " + bs.get(i) + " (shared delta)", "all sizes", new ExpFit.Fit("least squares on ln(error), shared delta",
                        s.gamma()[i], s.gammaLo()[i], s.gammaHi()[i], s.delta(), s.deltaLo(), s.deltaHi(), s.points(), s.r2())));
            }
            for (FitLine f : own) {
                w.write(fitCsv(f.series(), f.points(), f.fit()));
            }
        }
    }

    private static String fitCsv(String series, String points, ExpFit.Fit f) {
        return String.join(",", quote(series), quote(points), quote(f.method()), num(f.gamma()), num(f.gammaLo()), num(f.gammaHi()),
                num(f.delta()), num(f.deltaLo()), num(f.deltaHi()), Integer.toString(f.points()), num(f.r2())) + "\n";
    }

    private static String quote(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : Double.toString(v);
    }
}
