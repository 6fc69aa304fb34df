package slt.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import slt.config.Preset;

/**
 * The report's PNG plots (XChart, rendered headless): the paper's Fig. 8 (best validation loss
 * against the Q/K scale), its Fig. 7 (against nonzero parameters) and each point's training and
 * validation curves. A plot without the data it needs is not drawn; a note says why.
 */
final class Plots {
    static final int WIDTH = 900;
    static final int HEIGHT = 560;
    static final int CURVE_WIDTH = 800;
    static final int CURVE_HEIGHT = 480;
    /** The Q/K scale of the paper's theorem for GPT-2: n_K^(1/4) with n_K = 64. */
    static final double QK_THEORY = Math.pow(Preset.HEAD_DIM, 0.25);
    static final String FIG8 = "fig8-val-loss-vs-qk-scale.png";
    static final String WIDTH_FIG = "val-loss-vs-qk-dim.png";
    static final String FIG7 = "fig7-val-loss-vs-nonzero-params.png";
    static final String CURVES = "curves";

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** A written plot: its path relative to the report directory, title, caption and pixel size. */
    record Figure(String file, String title, String caption, int width, int height) {}

    /** The plots written, and a note for each plot left out. */
    record Result(List<Figure> figures, List<String> notes) {}

    private Plots() {}

    static Result write(Aggregation agg, Path out) throws IOException {
        List<Figure> figures = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        qkScale(agg, out, figures, notes);
        qkDim(agg, out, figures, notes);
        nonzeroParams(agg, out, figures, notes);
        for (Point p : agg.points()) {
            curves(p, out, figures, notes);
        }
        return new Result(figures, notes);
    }

    /** Fig. 8: per model (and any other varying key), best validation loss of edge-popup points against the Q/K scale. */
    private static void qkScale(Aggregation agg, Path out, List<Figure> figures, List<String> notes) throws IOException {
        Map<String, List<Point>> series = sltSeries(agg,
                p -> Aggregation.label(p.config(), agg.varyingKeys(), Set.of("slt.qk_scale")));
        if (series.values().stream().noneMatch(s -> s.size() >= 2)) {
            notes.add("Fig. 8 (best validation loss against the Q/K scale) is not drawn: it needs edge-popup runs "
                    + "at two or more values of slt.qk_scale of one model, and there are none.");
            return;
        }
        XYChart chart = chart(WIDTH, HEIGHT, "Best validation loss against the Q/K scale (Fig. 8)",
                "Q/K scale (slt.qk_scale)", "best validation loss");
        series.forEach((name, points) -> addSeries(chart, name, points, Point::qkScale));
        chart.getStyler().setXAxisMin(Math.min(chart.getSeriesCollection().stream()
                .mapToDouble(XYSeries::getXMin).min().orElse(1), QK_THEORY) - 0.25);
        chart.getStyler().setXAxisMax(Math.max(chart.getSeriesCollection().stream()
                .mapToDouble(XYSeries::getXMax).max().orElse(5), QK_THEORY) + 0.25);
        double top = chart.getSeriesCollection().stream().mapToDouble(XYSeries::getYMax).max().orElse(0);
        double bottom = chart.getSeriesCollection().stream().mapToDouble(XYSeries::getYMin).min().orElse(0);
        double margin = 0.08 * Math.max(top - bottom, 0.05); // room above the data for the marker's label
        chart.getStyler().setYAxisMax(top + 2 * margin);
        chart.addAnnotation(new AnnotationLine(QK_THEORY, true, false));
        chart.addAnnotation(new AnnotationText("n_K^(1/4) = " + Format.num(QK_THEORY), QK_THEORY, top + margin, false));
        save(chart, out.resolve(FIG8));
        figures.add(new Figure(FIG8, "Fig. 8: best validation loss against the Q/K scale",
                "Mean over seeds, error bars one standard deviation; the vertical line marks n_K^(1/4) = "
                        + Format.num(QK_THEORY) + ", the scale of the paper's theorem.", WIDTH, HEIGHT));
    }

    /**
     * The theorem's width: best validation loss of edge-popup points against the per-head
     * query/key dimension (model.qk_dim, log scale), one line per Q/K scale ("auto" = qk_dim^(1/4))
     * and any other varying key. Drawn only when the runs vary qk_dim.
     */
    private static void qkDim(Aggregation agg, Path out, List<Figure> figures, List<String> notes) throws IOException {
        if (!agg.varyingKeys().contains("model.qk_dim")) {
            return; // not a width sweep: nothing to say
        }
        Map<String, List<Point>> series = sltSeries(agg, p -> Aggregation.label(p.config(), agg.varyingKeys(),
                Set.of("slt.qk_scale", "model.qk_dim")) + " qk_scale=" + p.qkScaleName());
        if (series.values().stream().noneMatch(s -> s.size() >= 2)) {
            notes.add("The width plot (best validation loss against model.qk_dim) is not drawn: it needs finished "
                    + "edge-popup runs at two or more values of model.qk_dim, and there are none.");
            return;
        }
        XYChart chart = chart(WIDTH, HEIGHT, "Best validation loss against the per-head Q/K dimension n_K",
                "per-head query/key dimension n_K (model.qk_dim)", "best validation loss");
        series.forEach((name, points) -> addSeries(chart, name, points, Point::qkDim));
        chart.getStyler().setXAxisMin(0.0);
        save(chart, out.resolve(WIDTH_FIG));
        figures.add(new Figure(WIDTH_FIG, "The theorem's width: best validation loss against qk_dim",
                "Mean over seeds, error bars one standard deviation; qk_scale=auto is n_K^(1/4) at each width "
                        + "(2.38, 2.83, 3.36, 4 at 32, 64, 128, 256), qk_scale=1 is GPT-2's init. d_model is the same "
                        + "for every point; only the heads' query/key space widens.", WIDTH, HEIGHT));
    }

    /** The edge-popup points with a best validation loss, grouped into series by {@code name}, in point order. */
    private static Map<String, List<Point>> sltSeries(Aggregation agg, java.util.function.Function<Point, String> name) {
        Map<String, List<Point>> series = new LinkedHashMap<>();
        for (Point p : agg.points()) {
            if (!p.dense() && p.bestValLoss().n() > 0) {
                series.computeIfAbsent(name.apply(p), k -> new ArrayList<>()).add(p);
            }
        }
        return series;
    }

    /** Fig. 7: best validation loss against nonzero parameters for trained (dense) models, SLT, SLT + Q/K scaling. */
    private static void nonzeroParams(Aggregation agg, Path out, List<Figure> figures, List<String> notes) throws IOException {
        List<Point> known = agg.points().stream()
                .filter(p -> p.bestValLoss().n() > 0 && !Double.isNaN(p.mean(RunRecord::paramsNonzero)))
                .toList();
        List<Point> dense = select(known, Point::dense);
        List<Point> slt = select(known, p -> !p.dense() && p.qkScale() == 1.0);
        List<Point> scaled = closestToTheory(agg, select(known, p -> !p.dense() && p.qkScale() != 1.0));
        if (dense.isEmpty() || slt.isEmpty() && scaled.isEmpty()) {
            notes.add("Fig. 7 (best validation loss against nonzero parameters) is not drawn: it needs finished "
                    + (dense.isEmpty() ? "dense runs (slt.mode dense, the trained model)" : "edge-popup runs")
                    + " to compare, and there are none.");
            return;
        }
        XYChart chart = chart(WIDTH, HEIGHT, "Best validation loss against nonzero parameters (Fig. 7)",
                "nonzero parameters", "best validation loss");
        chart.getStyler().setXAxisLogarithmic(true);
        addSeries(chart, "trained model", dense, p -> p.mean(RunRecord::paramsNonzero));
        addSeries(chart, "SLT", slt, p -> p.mean(RunRecord::paramsNonzero));
        addSeries(chart, "SLT + Q/K scaling", scaled, p -> p.mean(RunRecord::paramsNonzero));
        save(chart, out.resolve(FIG7));
        List<String> missing = new ArrayList<>();
        if (slt.isEmpty()) {
            missing.add("SLT (qk_scale 1)");
        }
        if (scaled.isEmpty()) {
            missing.add("SLT + Q/K scaling (qk_scale != 1)");
        }
        figures.add(new Figure(FIG7, "Fig. 7: best validation loss against nonzero parameters",
                "Mean over seeds, error bars one standard deviation. SLT + Q/K scaling shows, per model, the scale "
                        + "closest to " + Format.num(QK_THEORY) + "."
                        + (missing.isEmpty() ? "" : " No runs for: " + String.join(", ", missing) + "."), WIDTH, HEIGHT));
    }

    /** Training (solid) and validation (dashed, dots) loss against step, one colour per seed. */
    private static void curves(Point p, Path out, List<Figure> figures, List<String> notes) throws IOException {
        XYChart chart = chart(CURVE_WIDTH, CURVE_HEIGHT, p.id() + ": " + p.label(), "optimizer step", "loss");
        Color[] palette = chart.getStyler().getSeriesColors();
        int i = 0;
        for (RunRecord r : p.runs()) {
            Color color = palette[i++ % palette.length];
            String seed = "seed " + r.seed() + (r.finished() ? "" : " (unfinished)");
            curve(chart, seed + " train", r.metrics(), RunRecord.Metric::hasLoss, RunRecord.Metric::loss, color, false);
            curve(chart, seed + " val", r.metrics(), RunRecord.Metric::hasValLoss, RunRecord.Metric::valLoss, color, true);
        }
        if (chart.getSeriesCollection().isEmpty()) {
            notes.add("No curves for " + p.id() + " (" + p.label() + "): its runs have no metrics lines yet.");
            return;
        }
        String file = CURVES + "/" + Format.fileName(p.id() + "-" + p.label()) + ".png";
        Files.createDirectories(out.resolve(CURVES));
        save(chart, out.resolve(file));
        figures.add(new Figure(file, p.id() + ": " + p.label(),
                "Training loss (solid, mean since the previous log line) and validation loss (dashed) of each seed.",
                CURVE_WIDTH, CURVE_HEIGHT));
    }

    private static void curve(XYChart chart, String name, List<RunRecord.Metric> metrics, Predicate<RunRecord.Metric> has,
            ToDoubleFunction<RunRecord.Metric> y, Color color, boolean validation) {
        List<RunRecord.Metric> m = metrics.stream().filter(has).toList();
        if (m.isEmpty()) {
            return;
        }
        while (chart.getSeries(name) != null) { // two runs with one seed in a point: keep both
            name += "'";
        }
        XYSeries s = chart.addSeries(name, m.stream().mapToDouble(RunRecord.Metric::step).toArray(),
                m.stream().mapToDouble(y).toArray());
        s.setLineColor(color);
        s.setMarkerColor(color);
        s.setMarker(validation ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        if (validation) {
            s.setLineStyle(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
        }
    }

    /** Per group of edge-popup points differing only in the Q/K scale, the one closest to n_K^(1/4). */
    private static List<Point> closestToTheory(Aggregation agg, List<Point> points) {
        Map<String, Point> best = new LinkedHashMap<>();
        for (Point p : points) {
            best.merge(Aggregation.label(p.config(), agg.varyingKeys(), Set.of("slt.qk_scale")), p,
                    (a, b) -> Math.abs(b.qkScale() - QK_THEORY) < Math.abs(a.qkScale() - QK_THEORY) ? b : a);
        }
        return List.copyOf(best.values());
    }

    private static List<Point> select(List<Point> points, Predicate<Point> which) {
        return points.stream().filter(which).toList();
    }

    /** A series of point means with standard-deviation error bars (0 where one seed), sorted by x. */
    private static void addSeries(XYChart chart, String name, List<Point> points, ToDoubleFunction<Point> x) {
        if (points.isEmpty()) {
            return;
        }
        List<Point> sorted = points.stream().sorted(Comparator.comparingDouble(x)).toList();
        double[] xs = sorted.stream().mapToDouble(x).toArray();
        double[] ys = sorted.stream().mapToDouble(p -> p.bestValLoss().mean()).toArray();
        double[] err = sorted.stream().mapToDouble(p -> Double.isNaN(p.bestValLoss().std()) ? 0 : p.bestValLoss().std()).toArray();
        chart.addSeries(name, xs, ys, err).setMarker(SeriesMarkers.CIRCLE);
    }

    private static XYChart chart(int width, int height, String title, String xTitle, String yTitle) {
        XYChart chart = new XYChartBuilder().width(width).height(height).title(title)
                .xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setErrorBarsColorSeriesColor(true);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setAnnotationLineColor(Color.GRAY);
        chart.getStyler().setAnnotationTextFontColor(Color.DARK_GRAY);
        return chart;
    }

    private static void save(XYChart chart, Path file) throws IOException {
        try (OutputStream os = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, os, BitmapEncoder.BitmapFormat.PNG);
        }
    }
}
