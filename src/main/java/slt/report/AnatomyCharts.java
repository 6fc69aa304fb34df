package slt.report;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.style.Styler;
import slt.report.TicketAnatomy.Kind;

/** The PNG charts of a {@link TicketAnatomy} (XChart, rendered off-screen: no display needed). */
public final class AnatomyCharts {
    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private AnatomyCharts() {}

    /**
     * Layer x head density of Q, K, V and O, one panel each (2 x 2), on one shared colour scale so
     * that the panels compare.
     */
    public static void headHeatmap(TicketAnatomy a, Path file) throws IOException {
        int layers = a.spec().nLayer();
        int heads = a.spec().nHead();
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        List<double[][]> grids = new ArrayList<>();
        for (Kind k : TicketAnatomy.HEAD_KINDS) {
            double[][] g = a.headDensity(k);
            grids.add(g);
            for (double[] row : g) {
                for (double x : row) {
                    min = Math.min(min, x);
                    max = Math.max(max, x);
                }
            }
        }
        if (max - min < 1e-3) { // one colour would be a degenerate scale
            min = Math.max(0, min - 0.005);
            max = Math.min(1, max + 0.005);
        }
        min = Math.floor(min * 1000 + 1e-9) / 1000; // short legend labels (the legend prints its bounds as they are)
        max = Math.ceil(max * 1000 - 1e-9) / 1000;
        int pw = Math.max(520, 160 + 42 * heads);
        int ph = Math.max(420, 140 + 26 * layers);
        BufferedImage all = new BufferedImage(2 * pw, 2 * ph + 40, BufferedImage.TYPE_INT_RGB);
        Graphics2D g2 = all.createGraphics();
        try {
            g2.setColor(Color.WHITE);
            g2.fillRect(0, 0, all.getWidth(), all.getHeight());
            g2.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g2.setColor(Color.BLACK);
            g2.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            g2.drawString(String.format(Locale.ROOT, "Kept fraction per layer and head (target density %.3f) - %s, step %d",
                    a.spec().density(), shortSource(a.source()), a.step()), 12, 26);
            for (int i = 0; i < 4; i++) {
                Kind k = TicketAnatomy.HEAD_KINDS.get(i);
                HeatMapChart chart = new HeatMapChartBuilder().width(pw).height(ph)
                        .title(k.label() + " (" + k.description() + ")" + (k == Kind.O ? ": input columns of each head" : ""))
                        .xAxisTitle("head").yAxisTitle("layer").build();
                chart.getStyler().setMin(min).setMax(max);
                chart.getStyler().setShowValue(heads <= 16 && layers <= 32);
                chart.getStyler().setHeatMapValueDecimalPattern("0.000");
                chart.getStyler().setHeatMapDecimalValueFormatter(v -> String.format(Locale.ROOT, "%.3f", v));
                chart.getStyler().setValueFont(new Font(Font.SANS_SERIF, Font.PLAIN, heads <= 8 ? 11 : 9));
                chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
                chart.getStyler().setChartBackgroundColor(Color.WHITE);
                List<Integer> xs = new ArrayList<>();
                List<Integer> ys = new ArrayList<>();
                List<Number[]> cells = new ArrayList<>();
                for (int h = 0; h < heads; h++) {
                    xs.add(h);
                }
                for (int l = 0; l < layers; l++) {
                    ys.add(l);
                }
                double[][] g = grids.get(i);
                for (int l = 0; l < layers; l++) {
                    for (int h = 0; h < heads; h++) {
                        cells.add(new Number[] {h, l, g[l][h]});
                    }
                }
                chart.addSeries("density", xs, ys, cells);
                BufferedImage panel = BitmapEncoder.getBufferedImage(chart);
                g2.drawImage(panel, (i % 2) * pw, 40 + (i / 2) * ph, null);
            }
        } finally {
            g2.dispose();
        }
        write(all, file);
    }

    /** Density per projection kind (bars), with the configured density as a horizontal line. */
    public static void kindBars(TicketAnatomy a, Path file) throws IOException {
        List<String> labels = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        double max = 0;
        for (Kind k : TicketAnatomy.PROJECTIONS) {
            var row = a.kind(k);
            if (row.isPresent()) {
                labels.add(k.label());
                values.add(row.get().density());
                max = Math.max(max, row.get().density());
            }
        }
        CategoryChart chart = new CategoryChartBuilder().width(900).height(500)
                .title(String.format(Locale.ROOT, "Kept fraction per projection kind - %s, step %d (line: target %.3f)",
                        shortSource(a.source()), a.step(), a.spec().density()))
                .xAxisTitle("projection kind (all layers)").yAxisTitle("density (kept fraction)").build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(Math.min(1.0, Math.max(max, a.spec().density()) * 1.15 + 1e-3));
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setYAxisDecimalPattern("0.000");
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setSeriesColors(new Color[] {new Color(0x3b, 0x6e, 0xa8)});
        chart.addSeries("density", labels, values);
        AnnotationLine target = new AnnotationLine(a.spec().density(), false, false);
        chart.addAnnotation(target);
        write(BitmapEncoder.getBufferedImage(chart), file);
    }

    private static void write(BufferedImage image, Path file) throws IOException {
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("no PNG writer available for " + file);
        }
    }

    /** The last three path elements: enough to tell runs apart in a title. */
    private static String shortSource(String source) {
        Path p = Path.of(source);
        int n = p.getNameCount();
        return n <= 3 ? source : p.subpath(n - 3, n).toString();
    }
}
