package slt.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import slt.config.Config;

/**
 * The report's tables: exact CSV ({@code results.csv}, one row per point; {@code runs.csv}, one
 * row per run) and, for Markdown and HTML, one readable table per preset.
 */
final class Tables {
    private Tables() {}

    /** A table to show: a title, a header and rows of cells, already formatted. */
    record Table(String title, List<String> header, List<List<String>> rows) {}

    /** A named column of values taken from a T. */
    private record Column<T>(String name, Function<T, Object> value) {
        /** The same column read through {@code f}. */
        <U> Column<U> from(Function<U, T> f) {
            return new Column<>(name, u -> value.apply(f.apply(u)));
        }
    }

    /** results.csv: per point its config columns, loss and perplexity over seeds, cost and cost against dense. */
    static String pointsCsv(Aggregation agg) {
        List<Column<Point>> cols = new ArrayList<>(List.of(
                new Column<>("point", Point::id),
                new Column<>("label", Point::label),
                new Column<>("status", Point::status),
                new Column<>("n_runs", p -> p.runs().size()),
                new Column<>("n_finished", Point::finished),
                new Column<>("seeds", p -> p.seeds().stream().map(String::valueOf).collect(Collectors.joining(";")))));
        configColumns(agg).forEach(c -> cols.add(c.from(Point::config)));
        cols.addAll(List.of(
                new Column<>("best_val_loss_mean", p -> p.bestValLoss().mean()),
                new Column<>("best_val_loss_std", p -> p.bestValLoss().std()),
                new Column<>("best_val_ppl_mean", p -> p.bestValPpl().mean()),
                new Column<>("best_val_ppl_std", p -> p.bestValPpl().std()),
                new Column<>("best_step_mean", p -> p.mean(r -> r.bestStep() < 0 ? Double.NaN : r.bestStep())),
                new Column<>("final_val_loss_mean", p -> p.mean(RunRecord::finalValLoss)),
                new Column<>("params_nonzero", p -> p.mean(RunRecord::paramsNonzero)),
                new Column<>("params_total", p -> p.mean(RunRecord::paramsTotal)),
                new Column<>("steps", p -> p.mean(RunRecord::steps)),
                new Column<>("tokens", p -> p.mean(RunRecord::tokens)),
                new Column<>("wall_s", p -> p.mean(RunRecord::wallS)),
                new Column<>("tokens_per_s", p -> p.mean(RunRecord::tokensPerS)),
                new Column<>("train_flops", p -> p.mean(RunRecord::trainFlops)),
                new Column<>("train_flops_per_s", p -> p.mean(r -> r.trainFlops() / r.wallS())),
                new Column<>("dense_point", p -> agg.baseline(p).map(Point::id).orElse(null)),
                new Column<>("best_val_loss_minus_dense", agg::lossMinusDense),
                new Column<>("wall_s_ratio_dense", p -> agg.ratioToDense(p, RunRecord::wallS)),
                new Column<>("tokens_per_s_ratio_dense", p -> agg.ratioToDense(p, RunRecord::tokensPerS)),
                new Column<>("train_flops_ratio_dense", p -> agg.ratioToDense(p, RunRecord::trainFlops))));
        return csv(cols, agg.points());
    }

    /** runs.csv: per run its point, config columns and its own numbers. */
    static String runsCsv(Aggregation agg) {
        List<Column<RunRecord>> cols = new ArrayList<>(List.of(
                new Column<>("run", RunRecord::name),
                new Column<>("dir", r -> r.dir().toString()),
                new Column<>("point", r -> agg.pointOf(r).id()),
                new Column<>("status", r -> r.finished() ? "finished" : "unfinished"),
                new Column<>("seed", RunRecord::seed)));
        configColumns(agg).forEach(c -> cols.add(c.from(RunRecord::config)));
        cols.addAll(List.of(
                new Column<>("best_val_loss", RunRecord::bestValLoss),
                new Column<>("best_val_ppl", RunRecord::bestValPpl),
                new Column<>("best_step", r -> r.bestStep() < 0 ? null : r.bestStep()),
                new Column<>("final_val_loss", RunRecord::finalValLoss),
                new Column<>("steps", RunRecord::steps),
                new Column<>("total_steps", r -> r.config().train().totalSteps()),
                new Column<>("tokens", RunRecord::tokens),
                new Column<>("wall_s", RunRecord::wallS),
                new Column<>("tokens_per_s", RunRecord::tokensPerS),
                new Column<>("train_flops", RunRecord::trainFlops),
                new Column<>("params_nonzero", RunRecord::paramsNonzero),
                new Column<>("params_total", RunRecord::paramsTotal),
                new Column<>("device", RunRecord::device)));
        List<RunRecord> runs = agg.points().stream().flatMap(p -> p.runs().stream()).toList();
        return csv(cols, runs);
    }

    /** One table per preset, in point order; unfinished runs (in seeds) and the points holding them are marked with *. */
    static List<Table> display(Aggregation agg) {
        List<String> header = List.of("point", "setting", "seeds", "best val loss", "perplexity", "nonzero params",
                "tokens", "train time", "tokens/s", "train FLOPs", "loss − dense", "time ÷ dense", "FLOPs ÷ dense");
        Map<String, List<List<String>>> byPreset = new LinkedHashMap<>();
        for (Point p : agg.points()) {
            String mark = p.complete() ? "" : " *";
            byPreset.computeIfAbsent(p.config().model().preset().key(), k -> new ArrayList<>()).add(List.of(
                    p.id(),
                    p.label(),
                    p.runs().stream().map(r -> r.seed() + (r.finished() ? "" : "*")).collect(Collectors.joining(", ")),
                    Format.meanStd(p.bestValLoss(), 4) + mark,
                    Format.meanStd(p.bestValPpl(), 2) + mark,
                    Format.count(p.mean(RunRecord::paramsNonzero)),
                    Format.count(p.mean(RunRecord::tokens)),
                    Format.duration(p.mean(RunRecord::wallS)),
                    Format.fixed(p.mean(RunRecord::tokensPerS), 0),
                    Format.flops(p.mean(RunRecord::trainFlops)),
                    signed(agg.lossMinusDense(p)),
                    Format.ratio(agg.ratioToDense(p, RunRecord::wallS)),
                    Format.ratio(agg.ratioToDense(p, RunRecord::trainFlops))));
        }
        List<Table> out = new ArrayList<>();
        byPreset.forEach((preset, rows) -> out.add(new Table(preset, header, rows)));
        return out;
    }

    /** One table as GitHub Markdown. */
    static String markdown(Table t) {
        StringBuilder b = new StringBuilder();
        b.append("| ").append(String.join(" | ", t.header().stream().map(Tables::mdCell).toList())).append(" |\n");
        b.append("|").append("---|".repeat(t.header().size())).append('\n');
        for (List<String> row : t.rows()) {
            b.append("| ").append(String.join(" | ", row.stream().map(Tables::mdCell).toList())).append(" |\n");
        }
        return b.toString();
    }

    /** Columns for the config keys that matter: headline keys, d_model, and the other keys that vary. */
    private static List<Column<Config>> configColumns(Aggregation agg) {
        List<Column<Config>> out = new ArrayList<>();
        for (String key : agg.columnKeys()) {
            String name = key.substring(key.indexOf('.') + 1);
            out.add(new Column<>(name, key.equals("slt.qk_scale") ? Config::qkScale : c -> Aggregation.flatten(c).get(key)));
            if (key.equals("model.width")) {
                out.add(new Column<>("d_model", Config::dModel));
            }
        }
        return out;
    }

    private static <T> String csv(List<Column<T>> cols, List<T> rows) {
        StringBuilder b = new StringBuilder();
        b.append(cols.stream().map(Column::name).collect(Collectors.joining(","))).append('\n');
        for (T row : rows) {
            b.append(cols.stream().map(c -> Format.csv(c.value().apply(row))).collect(Collectors.joining(","))).append('\n');
        }
        return b.toString();
    }

    private static String signed(double v) {
        return Double.isNaN(v) ? "" : String.format(java.util.Locale.ROOT, "%+.4f", v);
    }

    private static String mdCell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }
}
