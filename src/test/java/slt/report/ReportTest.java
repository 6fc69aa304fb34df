package slt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import slt.Sha256;
import slt.UserError;
import slt.cli.ReportCommand;
import slt.config.Config;

/** The report end to end on synthetic run directories: files, numbers, plots, links, and bad inputs. */
class ReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A loss that is U-shaped in the Q/K scale with its minimum at 2.83, lower for dense, rising with the seed. */
    private static double loss(Config c) {
        double base = c.model().preset() == slt.config.Preset.SMALL ? 3.5 : 4.5;
        if (c.slt().mode() == Config.Mode.DENSE) {
            return base - 0.6 + 0.01 * c.train().seed();
        }
        return base + 0.1 * Math.pow(c.qkScale() - 2.83, 2) + 0.02 * c.train().seed();
    }

    /**
     * The grid: tiny (dense, SLT at qk 1, 2, auto, 4) with 3 seeds, the third seed of qk=auto
     * unfinished; small (dense, SLT qk 1 and auto) with 2 seeds. Also a run moved aside by --force
     * and a checkpoint's copy of config.yaml, neither of which is a run.
     */
    private Path grid() throws IOException {
        Path runs = tmp.resolve("checkpoints");
        for (String preset : List.of("tiny", "small")) {
            List<String> qks = preset.equals("tiny") ? List.of("dense", "1", "2", "auto", "4") : List.of("dense", "1", "auto");
            int seeds = preset.equals("tiny") ? 3 : 2;
            for (String qk : qks) {
                for (int seed = 1; seed <= seeds; seed++) {
                    Config c = SyntheticRuns.config("model.preset=" + preset, "train.seed=" + seed,
                            qk.equals("dense") ? "slt.mode=dense" : "slt.qk_scale=" + qk);
                    Path parent = runs.resolve(preset); // runs one level down: found at any depth
                    if (qk.equals("auto") && seed == 3) {
                        SyntheticRuns.started(parent, c, List.of(loss(c) + 0.3));
                    } else {
                        Path dir = SyntheticRuns.finished(parent, c, loss(c), 10 + seed + (qk.equals("dense") ? 5 : 0));
                        if (seed == 1 && qk.equals("1")) {
                            Path ckpt = Files.createDirectories(dir.resolve("checkpoints/step-00000020"));
                            Files.copy(dir.resolve("config.yaml"), ckpt.resolve("config.yaml"));
                        }
                    }
                }
            }
        }
        Path replaced = runs.resolve("tiny/tiny-dense-s1.replaced-20250101-000000");
        Files.createDirectories(replaced);
        Files.copy(runs.resolve("tiny/tiny-dense-s1/config.yaml"), replaced.resolve("config.yaml"));
        return runs;
    }

    @Test
    void writesTablesPlotsAndAnIndexThatLinksThemAll() throws IOException {
        Path out = tmp.resolve("report");
        Report.Summary s = Report.write(List.of(grid()), out, false);

        assertEquals(3 * 5 + 2 * 3, s.runs(), "the moved-aside run and the checkpoint copy are not runs");
        assertEquals(1, s.unfinished());
        assertEquals(5 + 3, s.points());
        assertEquals(2 + 8, s.figures(), "Fig. 7, Fig. 8 and one curve plot per point");
        for (String f : List.of("results.csv", "runs.csv", "results.md", "index.html", Plots.FIG7, Plots.FIG8)) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        assertPlot(out.resolve(Plots.FIG8), Plots.WIDTH, Plots.HEIGHT);
        assertPlot(out.resolve(Plots.FIG7), Plots.WIDTH, Plots.HEIGHT);
        List<Path> pngs = files(out, ".png");
        assertEquals(10, pngs.size());
        for (Path p : pngs) {
            if (p.getParent().getFileName().toString().equals(Plots.CURVES)) {
                assertPlot(p, Plots.CURVE_WIDTH, Plots.CURVE_HEIGHT);
            }
        }

        String html = Files.readString(out.resolve("index.html"));
        Set<String> imgs = attributes(html, "img", "src");
        Set<String> expected = new TreeSet<>();
        pngs.forEach(p -> expected.add(out.relativize(p).toString().replace('\\', '/')));
        assertEquals(expected, imgs, "index.html shows every PNG");
        Set<String> referenced = new HashSet<>(imgs);
        referenced.addAll(attributes(html, "a", "href"));
        for (String ref : referenced) {
            assertFalse(ref.contains(":") || ref.startsWith("/"), "relative link: " + ref);
            assertTrue(Files.isRegularFile(out.resolve(ref)), "referenced file exists: " + ref);
        }
        assertFalse(html.contains("<script"), "no JavaScript");
        String md = Files.readString(out.resolve("results.md"));
        for (String png : expected) {
            assertTrue(md.contains("](" + png + ")"), "results.md shows " + png);
        }
        assertTrue(md.contains(slt.model.Flops.formula()), "the FLOP formula is stated");
        assertTrue(md.contains("## tiny") && md.contains("## small"), "a table per preset");
        assertTrue(md.contains("tiny-dense-s1.replaced-"), "the moved-aside run is named as skipped");
    }

    @Test
    void aWidthSweepIsGroupedAndPlottedByQkDimWithOneLinePerQkScale() throws IOException {
        Path runs = tmp.resolve("width");
        for (int qk : new int[] {32, 64, 128}) {
            for (String scale : List.of("1", "auto")) {
                for (int seed = 1; seed <= 2; seed++) {
                    Config c = SyntheticRuns.config("model.qk_dim=" + qk, "slt.qk_scale=" + scale, "train.seed=" + seed);
                    double loss = 5.0 - (scale.equals("auto") ? 0.01 * Math.log(qk) : 0) + 0.01 * seed;
                    SyntheticRuns.finished(runs, c, loss, 10);
                }
            }
        }
        Path out = tmp.resolve("width-report");
        Report.Summary s = Report.write(List.of(runs), out, false);
        assertEquals(6, s.points(), "3 widths x 2 scales, seeds aggregated");
        assertPlot(out.resolve(Plots.WIDTH_FIG), Plots.WIDTH, Plots.HEIGHT);
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("](" + Plots.WIDTH_FIG + ")"), "results.md shows the width plot");
        for (int qk : new int[] {32, 64, 128}) {
            assertTrue(md.contains("qk_dim=" + qk), "a point per width: " + qk);
        }
        List<Map<String, String>> rows = csv(out.resolve("results.csv"));
        assertEquals(6, rows.size());
        assertTrue(rows.stream().anyMatch(r -> "128".equals(r.get("qk_dim"))), "results.csv has the qk_dim column: " + rows.get(0).keySet());
        // recorded configs hold qk_scale as a number: auto is recognised as qk_dim^(1/4) at each width
        Aggregation agg = Aggregation.of(RunFinder.find(List.of(runs)).runs());
        assertEquals(List.of("1", "auto", "1", "auto", "1", "auto"), agg.points().stream().map(Point::qkScaleName).toList());
        assertEquals(List.of(32, 32, 64, 64, 128, 128), agg.points().stream().map(Point::qkDim).toList());

        Report.write(List.of(grid()), tmp.resolve("no-width"), false);
        assertFalse(Files.exists(tmp.resolve("no-width").resolve(Plots.WIDTH_FIG)), "no width plot when qk_dim does not vary");
    }

    @Test
    void csvAndMarkdownHoldTheSummariesNumbers() throws IOException {
        Path runs = grid();
        Path out = tmp.resolve("report");
        Report.write(List.of(runs), out, false);

        List<Map<String, String>> runRows = csv(out.resolve("runs.csv"));
        assertEquals(21, runRows.size());
        Map<String, List<Double>> lossesByPoint = new HashMap<>();
        for (Map<String, String> row : runRows) {
            Path dir = Path.of(row.get("dir"));
            lossesByPoint.computeIfAbsent(row.get("point"), k -> new ArrayList<>()).add(Double.parseDouble(row.get("best_val_loss")));
            if (!Files.exists(dir.resolve("summary.json"))) {
                assertEquals("unfinished", row.get("status"));
                assertEquals("", row.get("params_nonzero"));
                continue;
            }
            JsonNode summary = JSON.readTree(dir.resolve("summary.json").toFile());
            for (String key : List.of("best_val_loss", "best_step", "steps", "tokens", "wall_s", "tokens_per_s",
                    "train_flops", "params_nonzero", "params_total", "seed")) {
                assertEquals(summary.get(key).asDouble(), Double.parseDouble(row.get(key)), 0.0, key + " of " + dir);
            }
            assertEquals(summary.get("mode").asText(), row.get("mode"));
            assertEquals(summary.get("qk_scale").asDouble(), Double.parseDouble(row.get("qk_scale")), 0.0);
        }

        List<Map<String, String>> points = csv(out.resolve("results.csv"));
        assertEquals(8, points.size());
        String md = Files.readString(out.resolve("results.md"));
        for (Map<String, String> p : points) {
            double[] v = lossesByPoint.get(p.get("point")).stream().mapToDouble(Double::doubleValue).toArray();
            double mean = Arrays.stream(v).sum() / v.length;
            double var = Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum() / (v.length - 1);
            assertEquals(mean, Double.parseDouble(p.get("best_val_loss_mean")), 1e-12);
            assertEquals(Math.sqrt(var), Double.parseDouble(p.get("best_val_loss_std")), 1e-12);
            assertEquals(v.length, Integer.parseInt(p.get("n_runs")));
            assertTrue(md.contains(String.format(Locale.ROOT, "%.4f ± %.4f", mean, Math.sqrt(var))), "md shows " + p.get("label"));
        }
        Map<String, String> scaled = points.stream().filter(p -> p.get("label").equals("tiny slt qk=2.83 k=0.3 context=128")).findFirst().orElseThrow();
        assertEquals("unfinished", scaled.get("status"));
        assertEquals("2", scaled.get("n_finished"));
        assertEquals("1;2;3", scaled.get("seeds"));
        assertTrue(md.contains("| 1, 2, 3* | 4.6400 ± 0.1908 * |"), "the unfinished seed and its point are marked");
        Map<String, String> dense = points.stream().filter(p -> p.get("label").equals("tiny dense context=128")).findFirst().orElseThrow();
        assertEquals(dense.get("point"), scaled.get("dense_point"));
        // wall: SLT seeds 11 and 12 s, the unfinished one 5.12 s (10 steps of 512 tokens at 1000 tokens/s); dense 16, 17, 18
        assertEquals((11 + 12 + 5.12) / 3 / 17, Double.parseDouble(scaled.get("wall_s_ratio_dense")), 1e-12);
        assertEquals("", dense.get("dense_point"));
    }

    @Test
    void plotsWithoutTheirDataAreLeftOutWithANote() throws IOException {
        Path runs = tmp.resolve("runs");
        for (int seed = 1; seed <= 2; seed++) {
            SyntheticRuns.finished(runs, SyntheticRuns.config("train.seed=" + seed), 4.0 + seed / 10.0, 10);
        }
        Path out = tmp.resolve("report");
        Report.Summary s = Report.write(List.of(runs), out, false);

        assertEquals(1, s.figures(), "only the curves");
        assertFalse(Files.exists(out.resolve(Plots.FIG7)));
        assertFalse(Files.exists(out.resolve(Plots.FIG8)));
        for (String f : List.of("results.md", "index.html")) {
            String text = Files.readString(out.resolve(f));
            assertTrue(text.contains("Fig. 7 (best validation loss against nonzero parameters) is not drawn"), f);
            assertTrue(text.contains("dense runs"), f);
            assertTrue(text.contains("Fig. 8 (best validation loss against the Q/K scale) is not drawn"), f);
        }
        assertEquals(Set.of("curves/p1-tiny-slt-qk-1-k-0.3.png"), attributes(Files.readString(out.resolve("index.html")), "img", "src"));
    }

    @Test
    void runsAreOnlyRead() throws IOException {
        Path runs = grid();
        Map<String, String> before = snapshot(runs);
        Report.write(List.of(runs), tmp.resolve("report"), false);
        assertEquals(before, snapshot(runs));
    }

    @Test
    void aSweepFileNamesItsRunsThroughItsRunDirectory() throws IOException {
        Path sweeps = Files.createDirectories(tmp.resolve("sweeps"));
        Files.writeString(sweeps.resolve("base.yaml"), "model:\n  preset: tiny\ndata:\n  seq_len: 64\n");
        Files.writeString(sweeps.resolve("qk.yaml"), "base: base.yaml\nset:\n  run.dir: " + tmp.resolve("ckpt")
                + "\n  train.epochs: 2\ngrid:\n  slt.qk_scale: [1, 2]\n  train.seed: [1, 2]\n");
        for (String qk : List.of("1", "2")) {
            for (int seed = 1; seed <= 2; seed++) {
                SyntheticRuns.finished(tmp.resolve("ckpt/qk"), SyntheticRuns.config("slt.qk_scale=" + qk, "train.seed=" + seed), 4, 10);
            }
        }
        SyntheticRuns.finished(tmp.resolve("ckpt/other"), SyntheticRuns.config("slt.qk_scale=3"), 4, 10); // another sweep's

        assertEquals(tmp.resolve("ckpt/qk"), RunFinder.sweepRunDir(sweeps.resolve("qk.yaml")));
        Report.Summary s = Report.write(List.of(sweeps.resolve("qk.yaml")), tmp.resolve("report"), false);
        assertEquals(4, s.runs());
        assertEquals(2, s.points());

        Files.writeString(sweeps.resolve("later.yaml"), "base: base.yaml\nset:\n  run.dir: " + tmp.resolve("ckpt")
                + "\ngrid:\n  train.seed: [1]\n");
        userError(() -> Report.write(List.of(sweeps.resolve("later.yaml")), tmp.resolve("r2"), false), "has no runs yet", "ckpt/later");
    }

    @Test
    void badInputsAreOneLineErrorsNamingTheFix() throws IOException {
        Path runs = tmp.resolve("runs");
        Path run = SyntheticRuns.finished(runs, SyntheticRuns.config(), 4.0, 10);
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Path file = Files.writeString(tmp.resolve("notes.txt"), "x");
        Path out = tmp.resolve("out");

        userError(() -> Report.write(List.of(tmp.resolve("nope")), out, false), "nope does not exist", "directory");
        userError(() -> Report.write(List.of(empty), out, false), "no run directories", "under " + empty);
        userError(() -> Report.write(List.of(tmp.resolve("missing.yaml")), out, false), "sweep file", "not found");
        userError(() -> Report.write(List.of(file), out, false), "neither a sweep file");
        userError(() -> Report.write(List.of(runs), file, false), "is a file", "directory");
        userError(() -> Report.write(List.of(runs), run.resolve("report"), true), "inside the run directory");
        assertFalse(Files.exists(out), "nothing written after an error");

        Files.createDirectories(out.resolve(Plots.CURVES));
        Files.writeString(out.resolve("keep.txt"), "mine");
        Files.writeString(out.resolve(Plots.CURVES + "/p9-from-an-earlier-report.png"), "old");
        userError(() -> Report.write(List.of(runs), out, false), "not empty", "--force");
        Report.write(List.of(runs), out, true);
        assertEquals("mine", Files.readString(out.resolve("keep.txt")), "--force replaces only the report's files");
        assertFalse(Files.exists(out.resolve(Plots.CURVES + "/p9-from-an-earlier-report.png")), "no stale plot lingers");
        assertTrue(Files.exists(out.resolve("index.html")));

        Files.writeString(run.resolve("config.yaml"), Files.readString(run.resolve("config.yaml")).replace("preset: tiny",
                "preset: huge"));
        userError(() -> Report.write(List.of(runs), tmp.resolve("out2"), false), "none of the 1 run directories", "huge");
    }

    @Test
    void aTruncatedConfigIsSkippedWithANoteAndCopiesOfARunCountOnce() throws IOException {
        Path runs = tmp.resolve("runs");
        List<Path> dirs = new ArrayList<>();
        for (int seed = 1; seed <= 2; seed++) {
            dirs.add(SyntheticRuns.finished(runs, SyntheticRuns.config("slt.qk_scale=2", "train.seed=" + seed), 4.0 + seed, 10));
        }
        // a third run whose config.yaml was cut short: it used to be reported as a default GPT-2 small run
        Path cut = SyntheticRuns.finished(runs, SyntheticRuns.config("slt.qk_scale=2", "train.seed=3"), 6.0, 10);
        String text = Files.readString(cut.resolve("config.yaml"));
        Files.writeString(cut.resolve("config.yaml"), text.substring(0, text.indexOf("slt:")));
        // and a copy of seed 1's run under another name: it used to count as another seed ("seeds 1, 1")
        Path copy = Files.createDirectories(runs.resolve("copy-of-seed-1"));
        try (Stream<Path> files = Files.list(dirs.get(0))) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Path out = tmp.resolve("report");
        Report.Summary s = Report.write(List.of(runs), out, false);
        assertEquals(2, s.runs(), "seeds 1 and 2, once each");
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains(cut + ": " + cut.resolve("config.yaml") + " lacks") && md.contains("cut short"), md);
        assertTrue(md.contains("the same grid point and seed (1)") && md.contains("counted once"), md);
        assertTrue(md.contains("| 1, 2 | 5.5000 ± 0.7071 |"), "seeds 1 and 2 once each (5.0 and 6.0): " + md);
    }

    @Test
    void theCommandPrintsWhatItWrote() throws IOException {
        Path runs = grid();
        StringWriter text = new StringWriter();
        int code = new CommandLine(new ReportCommand()).setOut(new PrintWriter(text, true))
                .execute(runs.toString(), "--out", tmp.resolve("report").toString());
        assertEquals(0, code);
        assertTrue(text.toString().startsWith("report of 21 runs (1 unfinished) in 8 points -> "), text.toString());
        assertTrue(text.toString().contains("skipped: "), "the moved-aside run");
    }

    private static void userError(org.junit.jupiter.api.function.Executable call, String... needles) {
        String said = slt.cli.Main.message(assertThrows(UserError.class, call)); // as the command line says it
        assertFalse(said.contains("\n"), "one line: " + said);
        for (String n : needles) {
            assertTrue(said.contains(n), "'" + n + "' in: " + said);
        }
    }

    /**
     * A real plot: a PNG of the given size, not blank, with drawn data: more than 0.2 % of its
     * pixels in saturated colours (axes, grid and text are grey; series are coloured).
     */
    private static void assertPlot(Path png, int width, int height) throws IOException {
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, png + " decodes as an image");
        assertEquals(width, img.getWidth(), png.toString());
        assertEquals(height, img.getHeight(), png.toString());
        Set<Integer> colours = new HashSet<>();
        int white = 0;
        int saturated = 0;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                int r = rgb >> 16;
                int g = (rgb >> 8) & 0xff;
                int b = rgb & 0xff;
                colours.add(rgb);
                white += rgb == 0xffffff ? 1 : 0;
                saturated += Math.max(r, Math.max(g, b)) - Math.min(r, Math.min(g, b)) > 80 ? 1 : 0;
            }
        }
        assertTrue(colours.size() > 20, png + " has " + colours.size() + " colours");
        assertTrue(white < 0.99 * width * height, png + " is blank");
        assertTrue(saturated > 0.002 * width * height, png + " has " + saturated + " coloured pixels: no data drawn?");
    }

    private static Set<String> attributes(String html, String tag, String attribute) {
        Set<String> out = new TreeSet<>();
        Matcher m = Pattern.compile("<" + tag + "\\b[^>]*\\b" + attribute + "=\"([^\"]*)\"").matcher(html);
        while (m.find()) {
            out.add(m.group(1).replace("&amp;", "&"));
        }
        return out;
    }

    private static List<Path> files(Path dir, String suffix) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(suffix)).sorted().toList();
        }
    }

    /** Rows of a CSV written by the report (no quoted commas in these). */
    private static List<Map<String, String>> csv(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        String[] header = lines.get(0).split(",", -1);
        List<Map<String, String>> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            assertEquals(header.length, cells.length, line);
            Map<String, String> row = new HashMap<>();
            for (int i = 0; i < header.length; i++) {
                row.put(header[i], cells[i]);
            }
            rows.add(row);
        }
        return rows;
    }

    /** Every file under {@code dir} with its size, modification time and SHA-256. */
    private static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                out.put(dir.relativize(p).toString(), Files.isDirectory(p) ? "dir " + Files.getLastModifiedTime(p)
                        : Files.size(p) + " " + Files.getLastModifiedTime(p) + " " + Sha256.of(p));
            }
        }
        return out;
    }
}
