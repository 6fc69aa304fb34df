package slt.theory;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleUnaryOperator;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The PNG figures of the theory experiments (XChart, headless), after the paper's Figs. 4-6. */
final class TheoryPlots {
    static final String FIG4 = "fig4-error-vs-hidden.png";
    static final String FIG5 = "fig5-error-vs-length.png";
    static final String FIG6 = "fig6-error-vs-hidden-blocks.png";
    private static final int W = 1050;
    private static final int H = 560;
    private static final BasicStroke DASH = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {8f, 5f}, 0f);
    private static final BasicStroke DOT = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {2f, 4f}, 0f);
    private static final Color[] PALETTE = {new Color(31, 119, 180), new Color(214, 39, 40), new Color(44, 160, 44),
        new Color(148, 103, 189), new Color(255, 127, 14), new Color(23, 190, 207)};

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private TheoryPlots() {}

    /** Fig. 4: error against n_K (log axis): every source, the mean, the fit and the paper's fit. */
    static void fig4(List<Experiments.Row> rows, List<Outputs.Group> groups, ExpFit.Fit fit, Path file) throws IOException {
        XYChart chart = chart("Output error of the pruned source MHA against its hidden size (Fig. 4)", "source hidden size n_K = n_V",
                "mean |source - target output|");
        scatter(chart, "one source", rows.stream().mapToDouble(Experiments.Row::nHidden).toArray(),
                rows.stream().mapToDouble(Experiments.Row::error).toArray(), new Color(150, 150, 150, 110));
        line(chart, "mean over sources", groups.stream().mapToDouble(Outputs.Group::nHidden).toArray(),
                groups.stream().mapToDouble(Outputs.Group::mean).toArray(), PALETTE[0], null, true);
        double lo = groups.get(0).nHidden();
        double hi = groups.get(groups.size() - 1).nHidden();
        if (fit.valid()) {
            curve(chart, String.format(Locale.ROOT, "fit %.3g exp(-%.3g n)", fit.gamma(), fit.delta()), lo, hi, fit::at, PALETTE[1], DASH);
        }
        curve(chart, "paper: 0.8 exp(-0.06 n)", lo, hi, n -> Outputs.PAPER_GAMMA * Math.exp(-Outputs.PAPER_DELTA * n), Color.BLACK, DOT);
        save(chart, file);
    }

    /** Fig. 5: error against the sequence length T (log axes), one colour per hidden size. */
    static void fig5(List<Experiments.Row> rows, List<Outputs.Group> groups, Path file) throws IOException {
        XYChart chart = chart("Output error against the sequence length (Fig. 5)", "sequence length T", "mean |source - target output|");
        chart.getStyler().setXAxisLogarithmic(true);
        List<Integer> ns = groups.stream().map(Outputs.Group::nHidden).distinct().sorted().toList();
        for (int i = 0; i < ns.size(); i++) {
            int n = ns.get(i);
            Color c = PALETTE[i % PALETTE.length];
            List<Experiments.Row> rs = rows.stream().filter(r -> r.nHidden() == n).toList();
            scatter(chart, "one source, n = " + n, rs.stream().mapToDouble(Experiments.Row::length).toArray(),
                    rs.stream().mapToDouble(Experiments.Row::error).toArray(), new Color(c.getRed(), c.getGreen(), c.getBlue(), 70));
            List<Outputs.Group> gs = groups.stream().filter(g -> g.nHidden() == n).toList();
            line(chart, "mean, n_K = n_V = " + n, gs.stream().mapToDouble(Outputs.Group::length).toArray(),
                    gs.stream().mapToDouble(Outputs.Group::mean).toArray(), c, null, true);
        }
        save(chart, file);
    }

    /** Fig. 6: error against n (log axis), one colour per number of blocks, with the shared-delta fit. */
    static void fig6(List<Outputs.Group> groups, ExpFit.Shared shared, Path file) throws IOException {
        XYChart chart = chart("Output error of pruned source transformers (Fig. 6)", "source hidden size n_MHA = n_FC",
                "mean |source - target output|");
        List<Integer> bs = groups.stream().map(Outputs.Group::blocks).distinct().sorted().toList();
        for (int i = 0; i < bs.size(); i++) {
            int b = bs.get(i);
            Color c = PALETTE[i % PALETTE.length];
            List<Outputs.Group> gs = groups.stream().filter(g -> g.blocks() == b).toList();
            line(chart, b + (b == 1 ? " block" : " blocks"), gs.stream().mapToDouble(Outputs.Group::nHidden).toArray(),
                    gs.stream().mapToDouble(Outputs.Group::mean).toArray(), c, null, true);
            double g = shared.gamma()[i];
            if (Double.isFinite(g) && Double.isFinite(shared.delta())) {
                curve(chart, String.format(Locale.ROOT, "fit %d: %.3g exp(-%.3g n)", b, g, shared.delta()), gs.get(0).nHidden(),
                        gs.get(gs.size() - 1).nHidden(), n -> g * Math.exp(-shared.delta() * n), c, DASH);
            }
        }
        save(chart, file);
    }

    private static XYChart chart(String title, String x, String y) {
        XYChart chart = new XYChartBuilder().width(W).height(H).title(title).xAxisTitle(x).yAxisTitle(y).build();
        Styler s = chart.getStyler();
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setLegendLayout(Styler.LegendLayout.Vertical);
        s.setChartBackgroundColor(Color.WHITE);
        s.setMarkerSize(6);
        chart.getStyler().setYAxisLogarithmic(true);
        return chart;
    }

    /** Points only; non-positive values (not drawable on a log axis) are left out. */
    private static void scatter(XYChart chart, String name, double[] x, double[] y, Color color) {
        double[][] p = positive(x, y);
        if (p[0].length == 0) {
            return;
        }
        XYSeries s = chart.addSeries(name, p[0], p[1]);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        s.setMarker(SeriesMarkers.CIRCLE);
        s.setMarkerColor(color);
    }

    private static void line(XYChart chart, String name, double[] x, double[] y, Color color, BasicStroke stroke, boolean markers) {
        double[][] p = positive(x, y);
        if (p[0].length == 0) {
            return;
        }
        XYSeries s = chart.addSeries(name, p[0], p[1]);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setLineColor(color);
        s.setMarkerColor(color);
        s.setMarker(markers ? SeriesMarkers.DIAMOND : SeriesMarkers.NONE);
        if (stroke != null) {
            s.setLineStyle(stroke);
        }
    }

    /** gamma exp(-delta x) on a log y axis is a straight line: two points draw it (and keep the dashes visible). */
    private static void curve(XYChart chart, String name, double lo, double hi, DoubleUnaryOperator f, Color color, BasicStroke stroke) {
        int k = 1;
        double[] x = new double[k + 1];
        double[] y = new double[k + 1];
        for (int i = 0; i <= k; i++) {
            x[i] = lo + (hi - lo) * i / k;
            y[i] = f.applyAsDouble(x[i]);
        }
        line(chart, name, x, y, color, stroke, false);
    }

    private static double[][] positive(double[] x, double[] y) {
        int k = 0;
        for (double v : y) {
            k += v > 0 && Double.isFinite(v) ? 1 : 0;
        }
        double[][] out = new double[2][k];
        int j = 0;
        for (int i = 0; i < y.length; i++) {
            if (y[i] > 0 && Double.isFinite(y[i])) {
                out[0][j] = x[i];
                out[1][j++] = y[i];
            }
        }
        return out;
    }

    private static void save(XYChart chart, Path file) throws IOException {
        try (OutputStream os = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, os, BitmapEncoder.BitmapFormat.PNG);
        }
    }
}
