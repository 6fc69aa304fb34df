package slt.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;

/** Sweep files, point expansion, a real sweep run (killed and resumed), and cluster scripts. */
class SweepTest {
    @TempDir
    Path tmp;

    private Path write(String name, String text) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    /** A tiny sweep: 2 Q/K scales x 2 seeds, 4 steps each, writing under tmp. */
    private Path tinySweep() throws IOException {
        Map<String, String> values = new java.util.LinkedHashMap<>(); // later overrides win, each key once
        for (String o : TestRuns.tinyOverrides(tmp, "data.seq_len=32", "train.batch_size=4", "train.micro_batch=4",
                "train.epochs=2", "train.steps_per_epoch=2", "train.eval_windows=4", "train.log_every=1")) {
            int eq = o.indexOf('=');
            values.put(o.substring(0, eq), o.substring(eq + 1));
        }
        StringBuilder set = new StringBuilder();
        values.forEach((k, v) -> set.append("  ").append(k).append(": \"").append(v).append("\"\n"));
        return write("tiny.yaml", "base: configs/quickstart.yaml\nset:\n" + set
                + "grid:\n  slt.qk_scale: [1, auto]\n  train.seed: [1, 2]\n");
    }

    @Test
    void theGridIsACartesianProductWithZippedAxesAndNamedPoints() throws IOException {
        Path f = write("g.yaml", """
                base: configs/quickstart.yaml
                set: {train.epochs: 1, data.cache_dir: /tmp/x}
                grid:
                  model.preset,model.width: [[tiny, 1], [tiny, 2]]
                  slt.qk_scale: [1, auto, 2.5]
                  train.seed: [7, 8]
                """);
        Sweep s = Sweep.load(f);
        assertEquals(2 * 3 * 2, s.points().size());
        Sweep.Point first = s.points().get(0);
        Sweep.Point last = s.points().get(11);
        assertEquals("preset=tiny+width=1+qk_scale=1+seed=7", first.name());
        assertEquals("preset=tiny+width=2+qk_scale=2.5+seed=8", last.name());
        assertEquals(2.0, last.config().model().width());
        assertEquals(4, last.config().nHead());
        assertEquals(2.5, last.config().qkScale());
        assertEquals(8, last.config().train().seed());
        assertEquals(1, last.config().train().epochs(), "set applies to every point");
        assertEquals(Math.pow(64, 0.25), s.points().get(2).config().qkScale(), 1e-12);
        assertEquals(Path.of("checkpoints", "g"), s.dir(), "run.dir of the base, then the sweep's name");
        assertEquals(s.dir().resolve(first.name()), first.runDir());
        assertEquals(first.runDir().toString(), first.config().run().dir() + "/" + first.config().run().name());
        for (int i = 0; i < 12; i++) {
            assertEquals(i, s.points().get(i).index());
        }
    }

    @Test
    void badSweepFilesAreRefusedNamingTheProblem() throws IOException {
        Map<String, String[]> cases = new HashMap<>();
        cases.put("base: configs/quickstart.yaml\ngrid: {}\n", new String[] {"empty grid"});
        cases.put("base: configs/quickstart.yaml\n", new String[] {"empty grid"});
        cases.put("base: configs/quickstart.yaml\ngrid: {train.seed: []}\n", new String[] {"train.seed", "non-empty list"});
        cases.put("base: configs/quickstart.yaml\ngrid: {train.sed: [1]}\n", new String[] {"train.sed"});
        cases.put("base: configs/quickstart.yaml\nseeds: 3\ngrid: {train.seed: [1]}\n", new String[] {"unknown key 'seeds'"});
        cases.put("base: nope.yaml\ngrid: {train.seed: [1]}\n", new String[] {"nope.yaml", "not found"});
        cases.put("grid: {train.seed: [1]}\n", new String[] {"needs base"});
        cases.put("base: configs/quickstart.yaml\ngrid: {slt.density: [0.3, 1.5]}\n", new String[] {"density=1.5", "slt.density"});
        cases.put("base: configs/quickstart.yaml\ngrid: {\"model.preset,model.width\": [[tiny, 1], [tiny]]}\n",
                new String[] {"each value must be a list of 2"});
        cases.put("base: configs/quickstart.yaml\nset: {train.lrr: 1}\ngrid: {train.seed: [1]}\n", new String[] {"train.lrr"});
        int i = 0;
        for (Map.Entry<String, String[]> c : cases.entrySet()) {
            Path f = write("bad" + i++ + ".yaml", c.getKey());
            UserError e = assertThrows(UserError.class, () -> Sweep.load(f), c.getKey());
            for (String needle : c.getValue()) {
                assertTrue(e.getMessage().contains(needle), "'" + needle + "' in: " + e.getMessage());
            }
            assertFalse(e.getMessage().contains("\n"), "one line");
        }
        assertTrue(assertThrows(UserError.class, () -> Sweep.load(tmp.resolve("missing.yaml"))).getMessage().contains("not found"));
    }

    @Test
    void aSweepRunsEveryPointSkipsFinishedOnesAndResumesAfterBeingKilled() throws Exception {
        Path file = tinySweep();
        Sweep sweep = Sweep.load(file);
        assertEquals(4, sweep.points().size());

        // a real `slt sweep run` process, killed (with its children) once a point is done
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-Dslt.classpath=" + cp, "-cp", cp, "slt.cli.Main", "sweep", "run", file.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("sweep.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (PointState.of(sweep, sweep.points().get(0)).state() != PointState.State.DONE) {
            assertTrue(p.isAlive(), "sweep ended early: " + Files.readString(tmp.resolve("sweep.log")));
            assertTrue(System.nanoTime() < deadline, "timed out");
            Thread.sleep(200);
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly); // a node dies: runner and children
        p.destroyForcibly();
        p.waitFor(60, TimeUnit.SECONDS);
        assertTrue(Files.readString(tmp.resolve("sweep.log")).contains("running 1"), Files.readString(tmp.resolve("sweep.log")));
        Path firstSummary = sweep.points().get(0).runDir().resolve("summary.json");
        FileTime doneAt = Files.getLastModifiedTime(firstSummary);

        System.setProperty("slt.classpath", cp);
        StringWriter out = new StringWriter();
        List<SweepRunner.Failure> failed = new SweepRunner(sweep, List.of(), 2, new PrintWriter(out, true)).run();
        assertEquals(List.of(), failed, out.toString());
        assertTrue(out.toString().contains("done 4 | running 0 | queued 0 | partial 0 | failed 0"), out.toString());
        assertEquals(doneAt, Files.getLastModifiedTime(firstSummary), "a finished point is not run again");
        for (Sweep.Point point : sweep.points()) {
            PointState s = PointState.of(sweep, point);
            assertEquals(PointState.State.DONE, s.state(), point.name());
            assertEquals(4, s.step());
            assertTrue(s.bestValLoss().isPresent());
            JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(point.runDir().resolve("summary.json").toFile());
            assertEquals(point.config().qkScale(), summary.get("qk_scale").asDouble(), 1e-12);
            assertEquals(point.config().train().seed(), summary.get("seed").asLong());
        }

        // the report of the sweep: per point the mean over seeds of the runs' own summaries
        Path report = tmp.resolve("report");
        slt.report.Report.Summary rs = slt.report.Report.write(List.of(file), report, false);
        assertEquals(4, rs.runs());
        assertEquals(2, rs.points());
        List<String> csv = Files.readAllLines(report.resolve("results.csv"));
        List<String> header = List.of(csv.get(0).split(","));
        int qkCol = header.indexOf("qk_scale");
        int lossCol = header.indexOf("best_val_loss_mean");
        assertTrue(qkCol >= 0 && lossCol >= 0, csv.get(0));
        for (String row : csv.subList(1, csv.size())) {
            String[] cells = row.split(",");
            double qk = Double.parseDouble(cells[qkCol]);
            double sum = 0;
            int n = 0;
            for (Sweep.Point point : sweep.points()) {
                if (Math.abs(point.config().qkScale() - qk) < 1e-9) {
                    sum += new com.fasterxml.jackson.databind.ObjectMapper()
                            .readTree(point.runDir().resolve("summary.json").toFile()).get("best_val_loss").asDouble();
                    n++;
                }
            }
            assertEquals(2, n, row);
            assertEquals(sum / n, Double.parseDouble(cells[lossCol]), 1e-12, "report = mean of the summaries: " + row);
        }
        try (var pngs = Files.list(report)) {
            for (Path png : pngs.filter(f -> f.toString().endsWith(".png")).toList()) {
                java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
                assertTrue(img != null && img.getWidth() > 100, png.toString());
                java.util.Set<Integer> colours = new java.util.HashSet<>();
                for (int y = 0; y < img.getHeight(); y += 3) {
                    for (int x = 0; x < img.getWidth(); x += 3) {
                        colours.add(img.getRGB(x, y));
                    }
                }
                assertTrue(colours.size() > 10, png + " has content");
            }
        }

        // again: nothing to do
        StringWriter again = new StringWriter();
        assertEquals(List.of(), new SweepRunner(sweep, List.of(), 1, new PrintWriter(again, true)).run());
        assertFalse(again.toString().contains("running 1"), again.toString());
        assertEquals(doneAt, Files.getLastModifiedTime(firstSummary));

        // the sweep file changes a setting its runs used: the points are stale, and nothing is rerun or reported as done
        String text = Files.readString(file);
        Files.createDirectories(tmp.resolve("v2"));
        assertTrue(text.contains("train.lr: \"3e-3\""), text);
        assertThrows(UserError.class, () -> Sweep.load(Files.writeString(tmp.resolve("v2/tiny.yaml"),
                text.replace("set:\n", "set:\n  train.lr: \"0.01\"\n"))), "a key given twice");
        Path changed = Files.writeString(tmp.resolve("v2/tiny.yaml"), text.replace("train.lr: \"3e-3\"", "train.lr: \"0.01\""));
        Sweep sweep2 = Sweep.load(changed);
        assertEquals(sweep.dir(), sweep2.dir());
        for (Sweep.Point point : sweep2.points()) {
            assertEquals(PointState.State.STALE, PointState.of(sweep2, point).state(), point.name());
        }
        UserError stale = assertThrows(UserError.class, () -> new SweepRunner(sweep2, List.of(), 1,
                new PrintWriter(new StringWriter(), true)).run());
        assertTrue(stale.getMessage().contains("was trained with another train.lr than the sweep file now gives it"),
                stale.getMessage());
        assertThrows(UserError.class, () -> PointRun.run(sweep2, 0, t -> { }));
        assertEquals(doneAt, Files.getLastModifiedTime(firstSummary), "nothing ran");

        // a longer train.epochs is a resume: the finished point continues to the new length
        Files.createDirectories(tmp.resolve("v3"));
        assertTrue(text.contains("train.epochs: \"2\""), text);
        Path longer = Files.writeString(tmp.resolve("v3/tiny.yaml"), text.replace("train.epochs: \"2\"", "train.epochs: \"3\""));
        Sweep sweep3 = Sweep.load(longer);
        Sweep.Point first = sweep3.points().get(0);
        assertEquals(PointState.State.PARTIAL, PointState.of(sweep3, first).state());
        PointRun.run(sweep3, 0, t -> { });
        PointState extended = PointState.of(sweep3, first);
        assertEquals(PointState.State.DONE, extended.state());
        assertEquals(6, extended.step());
        assertEquals(6, extended.totalSteps());
    }

    @Test
    void theSlurmScriptRunsOnePointPerArrayTaskAndTheKubernetesJobIsWellFormed() throws Exception {
        Path file = tinySweep();
        Sweep sweep = Sweep.load(file);
        String script = ClusterScripts.slurm(sweep, Path.of("."), "gpu", "2:00:00", 4);
        assertTrue(script.contains("#SBATCH --array=0-3"), script);
        assertTrue(script.contains("#SBATCH --signal=B:TERM@"), script);
        Path sh = write("job.sh", script);

        // the script's body with SLURM_ARRAY_TASK_ID set, slt replaced by this build's classes
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder pb = new ProcessBuilder("bash", sh.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("slurm.log").toFile());
        pb.environment().put("SLURM_ARRAY_TASK_ID", "2");
        pb.environment().put("SLT_HOME", Path.of("").toAbsolutePath().toString());
        pb.environment().put("SLT", Path.of(System.getProperty("java.home"), "bin", "java") + " -Dai.djl.offline=true -cp " + cp
                + " slt.cli.Main");
        Process proc = pb.start();
        assertTrue(proc.waitFor(180, TimeUnit.SECONDS));
        assertEquals(0, proc.exitValue(), Files.readString(tmp.resolve("slurm.log")));
        for (Sweep.Point point : sweep.points()) {
            assertEquals(point.index() == 2 ? PointState.State.DONE : PointState.State.QUEUED,
                    PointState.of(sweep, point).state(), point.name());
        }
        ProcessBuilder noTask = new ProcessBuilder("bash", sh.toString()).redirectErrorStream(true);
        noTask.environment().remove("SLURM_ARRAY_TASK_ID");
        Process missing = noTask.start();
        assertTrue(missing.waitFor(30, TimeUnit.SECONDS));
        assertTrue(missing.exitValue() != 0, "refuses to run without a task id");

        JsonNode job = new YAMLMapper().readTree(ClusterScripts.kubernetes(sweep, "registry/slt:cuda", 2, "ck", "dt"));
        assertEquals("batch/v1", job.at("/apiVersion").asText());
        assertEquals("Job", job.at("/kind").asText());
        assertEquals(4, job.at("/spec/completions").asInt());
        assertEquals(2, job.at("/spec/parallelism").asInt());
        assertEquals("Indexed", job.at("/spec/completionMode").asText());
        JsonNode c = job.at("/spec/template/spec/containers/0");
        assertEquals("registry/slt:cuda", c.at("/image").asText());
        List<String> args = new ArrayList<>();
        c.at("/args").forEach(a -> args.add(a.asText()));
        assertEquals(List.of("sweep", "run-point", file.toString(), "--index", "$(JOB_COMPLETION_INDEX)"), args);
        assertEquals(1, c.at("/resources/limits/nvidia.com~1gpu").asInt());
        assertEquals("ck", job.at("/spec/template/spec/volumes/0/persistentVolumeClaim/claimName").asText());
        assertEquals(c.at("/volumeMounts/0/name").asText(), job.at("/spec/template/spec/volumes/0/name").asText());
        assertTrue(job.at("/spec/template/spec/terminationGracePeriodSeconds").asInt() >= 120);
    }

    @Test
    void replicasSetHowManyGpusAPointGetsAndAskForThemOnClusters() throws Exception {
        Path base = tinySweep();
        String text = Files.readString(base).replace("set:\n", "set:\n  run.replicas: \"2\"\n")
                .replace("train.micro_batch: \"4\"", "train.micro_batch: \"2\""); // 2 micro-batches, one per replica
        Sweep sweep = Sweep.load(write("replicas.yaml", text));
        assertTrue(ClusterScripts.slurm(sweep, Path.of("."), null, "1:00:00", 4).contains("#SBATCH --gres=gpu:2\n"));
        JsonNode job = new YAMLMapper().readTree(ClusterScripts.kubernetes(sweep, "registry/slt:cuda", 1, "ck", "dt"));
        assertEquals(2, job.at("/spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu").asInt());

        java.io.StringWriter out = new java.io.StringWriter();
        slt.UserError few = org.junit.jupiter.api.Assertions.assertThrows(slt.UserError.class,
                () -> new SweepRunner(sweep, List.of("0"), 1, new java.io.PrintWriter(out)).run());
        assertTrue(few.getMessage().contains("needs 2 GPUs (run.replicas 2)") && few.getMessage().contains("--gpus lists 1"),
                few.getMessage());
        Sweep pinned = Sweep.load(write("pinned.yaml", text.replace("set:\n", "set:\n  run.gpus: \"[0, 1]\"\n")));
        slt.UserError own = org.junit.jupiter.api.Assertions.assertThrows(slt.UserError.class,
                () -> new SweepRunner(pinned, List.of("0", "1"), 1, new java.io.PrintWriter(out)).run());
        assertTrue(own.getMessage().contains("sets run.gpus") && own.getMessage().contains("remove run.gpus"), own.getMessage());
    }
}
