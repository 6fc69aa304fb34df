package slt.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;
import slt.checkpoint.Checkpoints;
import slt.cli.Main;
import slt.ProcessLock;
import slt.train.RunDirectory;

/**
 * Sweep runners against each other and against signals: one runner per sweep, children that do
 * not outlive their runner, a group-wide SIGTERM that ends in checkpoints, user errors reported
 * as user errors, and no file overwritten without --force.
 */
class SweepReliabilityTest {
    @TempDir
    Path tmp;

    /** A sweep file of tiny points (one per grid value of train.seed), {@code steps} steps each. */
    private Path sweep(String name, int steps, String grid, String... extra) throws IOException {
        Map<String, String> values = new java.util.LinkedHashMap<>();
        List<String> o = new ArrayList<>(TestRuns.tinyOverrides(tmp, "data.seq_len=32", "train.batch_size=4",
                "train.micro_batch=4", "train.epochs=1", "train.steps_per_epoch=" + steps, "train.eval_every=" + steps,
                "train.eval_windows=2", "train.log_every=5", "train.checkpoint_every=10"));
        o.addAll(List.of(extra));
        for (String kv : o) {
            values.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        StringBuilder set = new StringBuilder();
        values.forEach((k, v) -> set.append("  ").append(k).append(": \"").append(v).append("\"\n"));
        Path f = tmp.resolve(name + ".yaml");
        Files.writeString(f, "base: configs/quickstart.yaml\nset:\n" + set + "grid:\n  " + grid + "\n");
        return f;
    }

    /** `slt sweep run FILE` as a real process in a process group of its own (so the test can signal the group). */
    private Process runner(Path file, Path log, String... jvmArgs) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of("setsid", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-Dslt.classpath=" + cp));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", cp, "slt.cli.Main", "sweep", "run", file.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        started.add(p);
        return p;
    }

    private static void waitFor(String what, java.util.function.BooleanSupplier condition, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(100);
        }
    }

    private static boolean logHas(Path log, String needle) {
        try {
            return Files.exists(log) && Files.readString(log).contains(needle);
        } catch (IOException e) {
            return false;
        }
    }

    private static long latestStep(Path runDir) {
        try {
            return new Checkpoints(runDir).latest().map(Checkpoints.Checkpoint::step).orElse(-1L);
        } catch (IOException e) {
            return -1;
        }
    }

    @Test
    void aSecondRunnerOfTheSameSweepIsRefusedNamingTheHolder() throws Exception {
        Sweep s = Sweep.load(sweep("two", 2, "train.seed: [1]"));
        Files.createDirectories(s.dir());
        try (ProcessLock held = ProcessLock.tryTake(SweepRunner.lockFile(s)).orElseThrow()) {
            UserError e = assertThrows(UserError.class, () -> new SweepRunner(s, List.of(), 1,
                    new PrintWriter(new StringWriter(), true)).run());
            assertTrue(e.getMessage().contains("already being run by another slt process (pid "
                    + ProcessHandle.current().pid() + ")"), e.getMessage());
        }
        assertFalse(Files.exists(s.points().get(0).runDir()), "nothing started");
    }

    @Test
    void aPointThatRefusesItsInputMakesTheSweepExitTwoWithItsErrorLine() throws Exception {
        // used to exit 1 with no error: line ("exit 1 is for bugs")
        Path f = sweep("baddata", 2, "data.path: [" + tmp.resolve("no-such-data") + "]");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        System.setProperty("slt.classpath", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "sweep", "run", f.toString());
        assertEquals(2, code, out + "\n" + err);
        List<String> lines = err.toString().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), err.toString());
        assertTrue(lines.get(0).startsWith("error: point 0 (") && lines.get(0).contains("no-such-data")
                && lines.get(0).contains("run the sweep again"), lines.get(0));
    }

    private final List<Process> started = new ArrayList<>();

    @org.junit.jupiter.api.AfterEach
    void killLeftovers() {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    @Test
    void groupSignalsEndInCheckpointsAndChildrenDoNotOutliveTheirRunner() throws Exception {
        Path file = sweep("signals", 60, "train.seed: [1]");
        Sweep s = Sweep.load(file);
        Path run = s.points().get(0).runDir();
        Path pointLog = PointState.logDir(s).resolve(s.points().get(0).name() + ".log");

        // 1. SIGTERM to the whole process group (timeout, Slurm, Kubernetes): each child gets it twice
        //    (the group's and the runner's); it used to take the second as "exit now" (130, no checkpoint)
        Path log1 = tmp.resolve("runner1.log");
        Process r1 = runner(file, log1);
        waitFor("a first checkpoint", () -> latestStep(run) >= 10, 180);
        assertEquals(0, new ProcessBuilder("kill", "-TERM", "--", "-" + r1.pid()).start().waitFor());
        assertTrue(r1.waitFor(90, TimeUnit.SECONDS), "the runner stopped: " + Files.readString(log1));
        assertEquals(0, r1.exitValue(), Files.readString(log1));
        assertTrue(logHas(log1, "stopped; run the same command again"), Files.readString(log1));
        assertFalse(logHas(pointLog, "exiting now"), Files.readString(pointLog));
        assertEquals(PointState.State.PARTIAL, PointState.of(s, s.points().get(0)).state(), "not failed, resumable");
        long stoppedAt = latestStep(run);
        assertTrue(stoppedAt > 10 && stoppedAt < 40, "a checkpoint where it stopped: " + stoppedAt);

        // 2. SIGKILL of the runner alone: its child notices, checkpoints and exits (it used to train on,
        //    orphaned); its checkpoint write pauses 3 s, so the next runner finds the point held and waits
        Path log2 = tmp.resolve("runner2.log");
        Process r2 = runner(file, log2, "-Dslt.test.pause_in_checkpoint_write_ms=3000",
                "-Dslt.test.pause_from_step=" + (stoppedAt + 1));
        waitFor("a checkpoint of the resumed child", () -> latestStep(run) > stoppedAt, 180);
        Optional<ProcessHandle> child = r2.children().findFirst(); // the point's JVM
        assertTrue(child.isPresent(), "a child process");
        r2.destroyForcibly(); // SIGKILL, the runner only
        assertTrue(r2.waitFor(10, TimeUnit.SECONDS));
        StringWriter out = new StringWriter();
        List<SweepRunner.Failure> failed = new SweepRunner(s, List.of(), 1, new PrintWriter(out, true)).run();
        assertTrue(child.get().onExit().get(60, TimeUnit.SECONDS) != null && !child.get().isAlive(), "the orphan exited");
        assertTrue(logHas(pointLog, "the sweep runner (pid " + r2.pid() + ") is gone"), Files.readString(pointLog));
        assertTrue(out.toString().contains("is still held by another process (pid " + child.get().pid() + ")"), out.toString());
        assertEquals(List.of(), failed, out.toString());
        assertEquals(PointState.State.DONE, PointState.of(s, s.points().get(0)).state(), out.toString());
        assertFalse(RunDirectory.inUse(run));
        assertFalse(Files.exists(PointState.logDir(s).resolve(s.points().get(0).name() + ".failed")));
    }

    @Test
    void emitDoesNotOverwriteAFileWithoutForce() throws Exception {
        Path f = sweep("emit", 2, "train.seed: [1, 2]");
        Path script = Files.writeString(tmp.resolve("job.sbatch"), "#!/bin/bash\n# edited by hand\n");
        StringWriter err = new StringWriter();
        StringWriter out = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "sweep", "emit", f.toString(),
                "--slurm", "--out", script.toString()));
        assertTrue(err.toString().contains(script + " already exists") && err.toString().contains("--force"), err.toString());
        assertEquals("#!/bin/bash\n# edited by hand\n", Files.readString(script));
        assertEquals(0, Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "sweep", "emit", f.toString(),
                "--slurm", "--out", script.toString(), "--force"));
        assertTrue(Files.readString(script).contains("#SBATCH --array=0-1"));
        assertEquals(2, Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "sweep", "emit",
                f.toString(), "--k8s", "--out", tmp.toString()), "a directory is not a file");
    }
}
