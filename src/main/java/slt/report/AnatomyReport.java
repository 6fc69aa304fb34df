package slt.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import slt.model.ModelSpec;
import slt.report.TicketAnatomy.Kind;
import slt.report.TicketAnatomy.Level;
import slt.report.TicketAnatomy.Magnitude;
import slt.report.TicketAnatomy.Row;
import slt.report.TicketAnatomy.Scores;

/**
 * Writes a {@link TicketAnatomy}: the printed table, {@code anatomy.csv} (every row with every
 * number), {@code anatomy.md} (tables) and the two charts of {@link AnatomyCharts}.
 */
public final class AnatomyReport {
    public static final String CSV = "anatomy.csv";
    public static final String MARKDOWN = "anatomy.md";
    public static final String HEATMAP = "anatomy-heads.png";
    public static final String BARS = "anatomy-kinds.png";

    /** The files {@link #write} creates, in that order. */
    public static final List<String> FILES = List.of(CSV, MARKDOWN, HEATMAP, BARS);

    /** anatomy.csv's columns. */
    public static final List<String> CSV_COLUMNS = List.of("level", "kind", "layer", "head", "tensor", "numel", "kept",
            "density", "score_mean", "score_std", "score_min", "score_max", "score_threshold",
            "topw_precision", "mean_abs_w_kept", "mean_abs_w_pruned");

    private AnatomyReport() {}

    /** Writes all four files into {@code dir} (created if needed; files of the same name are replaced). */
    public static List<Path> write(TicketAnatomy a, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> out = new ArrayList<>();
        for (String f : FILES) {
            out.add(dir.resolve(f));
        }
        Files.writeString(out.get(0), csv(a), StandardCharsets.UTF_8);
        Files.writeString(out.get(1), markdown(a), StandardCharsets.UTF_8);
        AnatomyCharts.headHeatmap(a, out.get(2));
        AnatomyCharts.kindBars(a, out.get(3));
        return out;
    }

    // ---------------------------------------------------------------- csv

    /** One line per row of the anatomy; empty cells where a number does not apply (or is undefined). */
    public static String csv(TicketAnatomy a) {
        StringBuilder sb = new StringBuilder(String.join(",", CSV_COLUMNS)).append('\n');
        for (Row r : a.rows()) {
            Scores s = r.scores();
            Magnitude m = r.magnitude();
            List<String> cells = List.of(
                    r.level().name().toLowerCase(Locale.ROOT),
                    r.kind() == null ? "all" : r.kind().csvName(),
                    r.layer() == TicketAnatomy.ALL ? "" : Integer.toString(r.layer()),
                    r.head() == TicketAnatomy.ALL ? "" : Integer.toString(r.head()),
                    r.tensor(),
                    Long.toString(r.numel()),
                    Long.toString(r.kept()),
                    num(r.density()),
                    s == null ? "" : num(s.mean()),
                    s == null ? "" : num(s.std()),
                    s == null ? "" : num(s.min()),
                    s == null ? "" : num(s.max()),
                    s == null ? "" : num(s.threshold()),
                    m == null ? "" : num(m.precision()),
                    m == null ? "" : num(m.meanAbsKept()),
                    m == null ? "" : num(m.meanAbsPruned()));
            sb.append(String.join(",", cells)).append('\n');
        }
        return sb.toString();
    }

    /** Full precision (shortest exact repr of the double), or empty for NaN. */
    private static String num(double x) {
        return Double.isNaN(x) ? "" : Double.toString(x);
    }

    // ---------------------------------------------------------------- printed table

    /** "12 heads of 64", or with a widened attention "12 heads (qk_dim 128, v_dim 64)". */
    static String heads(ModelSpec s) {
        return s.qkDim() == s.headDim() && s.vDim() == s.headDim()
                ? s.nHead() + " heads of " + s.headDim()
                : s.nHead() + " heads (qk_dim " + s.qkDim() + ", v_dim " + s.vDim() + ")";
    }

    /** The table printed by {@code slt inspect}. */
    public static String table(TicketAnatomy a) {
        ModelSpec s = a.spec();
        StringBuilder sb = new StringBuilder();
        f(sb, "ticket anatomy of %s (step %d)%n", a.source(), a.step());
        f(sb, "model: %d layers x %s (d %d); target density %.4f (scope %s), qk_scale %.4g%n",
                s.nLayer(), heads(s), s.dModel(), s.density(), s.scope().name().toLowerCase(Locale.ROOT),
                s.qkScale());
        Row total = a.total();
        f(sb, "kept %,d of %,d masked weights: density %.4f%n", total.kept(), total.numel(), total.density());
        if (!a.unmasked().isEmpty()) {
            f(sb, "not masked (all weights used): %s%n", String.join(", ", a.unmasked()));
        }

        f(sb, "%ndensity by projection kind%n");
        f(sb, "  %-36s %15s %15s %9s%n", "kind", "kept", "total", "density");
        for (Kind k : TicketAnatomy.PROJECTIONS) {
            a.kind(k).ifPresent(r -> f(sb, "  %-36s %,15d %,15d %9.4f%n", k.label() + " (" + k.description() + ")",
                    r.kept(), r.numel(), r.density()));
        }

        f(sb, "%ndensity by layer%n");
        f(sb, "  %-6s", "layer");
        for (Kind k : layerKinds()) {
            f(sb, " %8s", k.label());
        }
        f(sb, " %8s%n", "layer");
        for (int l = 0; l < s.nLayer(); l++) {
            f(sb, "  %-6d", l);
            for (Kind k : layerKinds()) {
                f(sb, " %8.4f", a.part(k, l).orElseThrow().density());
            }
            f(sb, " %8.4f%n", a.layer(l).density());
        }

        f(sb, "%ndensity by head (O: the output projection's input columns of the head)%n");
        for (Kind k : TicketAnatomy.HEAD_KINDS) {
            double[][] g = a.headDensity(k);
            f(sb, "  %-6s", k.label());
            for (int h = 0; h < s.nHead(); h++) {
                f(sb, " %6s", "h" + h);
            }
            f(sb, "   %s%n", "spread over heads");
            for (int l = 0; l < g.length; l++) {
                f(sb, "  L%-5d", l);
                double min = Double.POSITIVE_INFINITY;
                double max = Double.NEGATIVE_INFINITY;
                for (double x : g[l]) {
                    f(sb, " %6.3f", x);
                    min = Math.min(min, x);
                    max = Math.max(max, x);
                }
                f(sb, "   %.3f..%.3f%n", min, max);
            }
        }

        f(sb, "%nQ/K masks vs |weight|: precision = fraction of kept entries among the slice's largest |weight|%n");
        f(sb, "  (same count; 1 = magnitude pruning, random = the density); |w| = mean |weight| of kept / pruned%n");
        f(sb, "  %-6s %-4s %8s %9s %15s %10s %10s%n", "layer", "kind", "density", "precision", "head precision", "|w| kept",
                "|w| pruned");
        for (int l = 0; l < s.nLayer(); l++) {
            for (Kind k : List.of(Kind.Q, Kind.K)) {
                Row r = a.part(k, l).orElseThrow();
                double min = Double.POSITIVE_INFINITY;
                double max = Double.NEGATIVE_INFINITY;
                for (int h = 0; h < s.nHead(); h++) {
                    double p = a.head(k, l, h).magnitude().precision();
                    if (!Double.isNaN(p)) {
                        min = Math.min(min, p);
                        max = Math.max(max, p);
                    }
                }
                String range = min <= max ? String.format(Locale.ROOT, "%.3f..%.3f", min, max) : "-";
                f(sb, "  %-6d %-4s %8.4f %9s %15s %10s %10s%n", l, k.label(), r.density(), fmt(r.magnitude().precision(), 4),
                        range, sci(r.magnitude().meanAbsKept()), sci(r.magnitude().meanAbsPruned()));
            }
        }

        f(sb, "%nscore statistics per tensor%n");
        if (!a.withScores()) {
            f(sb, "  not in a ticket: a ticket holds masks only (inspect the run's checkpoint for scores)%n");
        } else {
            f(sb, "  %-18s %11s %11s %11s %11s %11s%n", "tensor", "mean", "std", "min", "max", "threshold");
            for (Row r : a.tensors()) {
                Scores sc = r.scores();
                f(sb, "  %-18s %11s %11s %11s %11s %11s%n", r.tensor(), sci(sc.mean()), sci(sc.std()), sci(sc.min()),
                        sci(sc.max()), sci(sc.threshold()));
            }
            f(sb, "  (threshold: the smallest |score| the tensor keeps)%n");
        }
        return sb.toString();
    }

    /** The kinds of one layer, in column order. */
    static List<Kind> layerKinds() {
        return List.of(Kind.Q, Kind.K, Kind.V, Kind.O, Kind.MLP_IN, Kind.MLP_OUT);
    }

    // ---------------------------------------------------------------- markdown

    /** anatomy.md: the same tables as the printed one, with every head, and the charts. */
    public static String markdown(TicketAnatomy a) {
        ModelSpec s = a.spec();
        StringBuilder sb = new StringBuilder();
        f(sb, "# Ticket anatomy%n%n");
        f(sb, "- source: `%s`, step %d (%s)%n", a.source(), a.step(),
                a.withScores() ? "a run's checkpoint: masks recomputed from its scores" : "a ticket: masks only");
        f(sb, "- model: %d layers, %s, d = %d, vocabulary %d, %d positions%n", s.nLayer(), heads(s),
                s.dModel(), s.vocab(), s.context());
        f(sb, "- edge-popup: target density %s, top-k scope `%s`, qk_scale %s, seed %d%n", fmt(s.density(), 4),
                s.scope().name().toLowerCase(Locale.ROOT), fmt(s.qkScale(), 4), s.seed());
        Row total = a.total();
        f(sb, "- kept %,d of %,d masked weights: density **%s**%n", total.kept(), total.numel(), fmt(total.density(), 4));
        if (!a.unmasked().isEmpty()) {
            f(sb, "- not masked (all weights used): %s%n", String.join(", ", a.unmasked()));
        }
        f(sb, "%nEvery number is an exact count of the masks. Every number of this report, with all digits, is in "
                + "`%s`.%n", CSV);

        f(sb, "%n## Density by projection kind%n%n");
        f(sb, "| kind | what | tensors | kept | total | density |%n|---|---|---:|---:|---:|---:|%n");
        for (Kind k : TicketAnatomy.PROJECTIONS) {
            a.kind(k).ifPresent(r -> f(sb, "| %s | %s | %d | %,d | %,d | %s |%n", k.label(), k.description(),
                    k == Kind.WTE || k == Kind.WPE ? 1 : s.nLayer(), r.kept(), r.numel(), fmt(r.density(), 4)));
        }
        f(sb, "%n![density per projection kind](%s)%n", BARS);

        f(sb, "%n## Density by layer%n%n| layer |");
        for (Kind k : layerKinds()) {
            f(sb, " %s |", k.label());
        }
        f(sb, " layer |%n|---:|");
        for (int i = 0; i <= layerKinds().size(); i++) {
            sb.append("---:|");
        }
        sb.append('\n');
        for (int l = 0; l < s.nLayer(); l++) {
            f(sb, "| %d |", l);
            for (Kind k : layerKinds()) {
                f(sb, " %s |", fmt(a.part(k, l).orElseThrow().density(), 4));
            }
            f(sb, " %s |%n", fmt(a.layer(l).density(), 4));
        }
        f(sb, "%nThe layer column counts its four tensors (c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj).%n");

        f(sb, "%n## Density by head%n%n");
        f(sb, "Q, K, V: the head's %d, %d and %d rows of its block of `c_attn` (all %d inputs); O: the %d input columns of "
                + "`attn.c_proj` that read the head's output.%n", s.qkDim(), s.qkDim(), s.vDim(), s.dModel(), s.vDim());
        for (Kind k : TicketAnatomy.HEAD_KINDS) {
            double[][] g = a.headDensity(k);
            f(sb, "%n### %s (%s)%n%n| layer |", k.label(), k.description());
            for (int h = 0; h < s.nHead(); h++) {
                f(sb, " h%d |", h);
            }
            f(sb, " min | max |%n|---:|");
            for (int h = 0; h < s.nHead() + 2; h++) {
                sb.append("---:|");
            }
            sb.append('\n');
            for (int l = 0; l < g.length; l++) {
                f(sb, "| %d |", l);
                double min = Double.POSITIVE_INFINITY;
                double max = Double.NEGATIVE_INFINITY;
                for (double x : g[l]) {
                    f(sb, " %s |", fmt(x, 4));
                    min = Math.min(min, x);
                    max = Math.max(max, x);
                }
                f(sb, " %s | %s |%n", fmt(min, 4), fmt(max, 4));
            }
        }
        f(sb, "%n![density per layer and head](%s)%n", HEATMAP);

        f(sb, "%n## Q and K masks vs weight magnitude%n%n");
        f(sb, "precision: the fraction of kept entries that are also among the k largest |weight| of the same slice "
                + "(k = its kept count, ties to the lowest index). 1 would mean the mask just keeps the largest weights; "
                + "a random mask gives about the density (the baseline column). |w| kept / pruned: mean |weight| of the "
                + "kept and the pruned entries. V and O are listed for comparison.%n%n");
        f(sb, "| layer | kind | density = baseline | precision | mean abs w kept | mean abs w pruned |%n"
                + "|---:|---|---:|---:|---:|---:|%n");
        for (int l = 0; l < s.nLayer(); l++) {
            for (Kind k : TicketAnatomy.HEAD_KINDS) {
                Row r = a.part(k, l).orElseThrow();
                f(sb, "| %d | %s | %s | %s | %s | %s |%n", l, k.label(), fmt(r.density(), 4), fmt(r.magnitude().precision(), 4),
                        sci(r.magnitude().meanAbsKept()), sci(r.magnitude().meanAbsPruned()));
            }
        }
        f(sb, "%n### Per head%n%n| layer | head | kind | density = baseline | precision | mean abs w kept | mean abs w pruned |%n"
                + "|---:|---:|---|---:|---:|---:|---:|%n");
        for (int l = 0; l < s.nLayer(); l++) {
            for (int h = 0; h < s.nHead(); h++) {
                for (Kind k : TicketAnatomy.HEAD_KINDS) {
                    Row r = a.head(k, l, h);
                    f(sb, "| %d | %d | %s | %s | %s | %s | %s |%n", l, h, k.label(), fmt(r.density(), 4),
                            fmt(r.magnitude().precision(), 4), sci(r.magnitude().meanAbsKept()),
                            sci(r.magnitude().meanAbsPruned()));
                }
            }
        }

        f(sb, "%n## Score statistics per tensor%n%n");
        if (!a.withScores()) {
            f(sb, "Not in a ticket: a ticket holds the masks only (its weights regenerate from the seed; its scores are "
                    + "not saved). Inspect the run's checkpoint (`--run-dir`) for score statistics.%n");
        } else {
            f(sb, "Signed scores: mean, population std, min, max; threshold: the smallest |score| the tensor keeps "
                    + "(with per-tensor top-k, the k-th largest |score|). Q, K and V share c_attn's threshold.%n%n");
            f(sb, "| tensor | part | density | mean | std | min | max | threshold |%n|---|---|---:|---:|---:|---:|---:|---:|%n");
            for (Row r : a.rows()) {
                if (r.level() == Level.TENSOR || r.level() == Level.BLOCK) {
                    Scores sc = r.scores();
                    f(sb, "| %s | %s | %s | %s | %s | %s | %s | %s |%n", r.tensor(),
                            r.level() == Level.BLOCK ? r.kind().label() : "all", fmt(r.density(), 4), sci(sc.mean()),
                            sci(sc.std()), sci(sc.min()), sci(sc.max()), sci(sc.threshold()));
                }
            }
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- formatting

    private static void f(StringBuilder sb, String format, Object... args) {
        sb.append(String.format(Locale.ROOT, format, args));
    }

    private static String fmt(double x, int decimals) {
        return Double.isNaN(x) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", x);
    }

    private static String sci(double x) {
        return Double.isNaN(x) ? "-" : String.format(Locale.ROOT, "%.4g", x);
    }
}
