package slt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.checkpoint.Checkpoints;
import slt.train.Trainer;

/**
 * Real `slt train` processes stopped by SIGTERM, killed by SIGKILL while training and while
 * writing a checkpoint; each is resumed and must end exactly where an uninterrupted run ends.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KillAndResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] RUN = {"data.seq_len=32", "train.batch_size=4", "train.micro_batch=2",
        "train.epochs=3", "train.steps_per_epoch=8", "train.eval_every=4", "train.log_every=1",
        "train.eval_windows=4", "train.checkpoint_every=2", "train.keep_checkpoints=3"};

    @TempDir
    static Path tmp;

    private List<float[]> baselineScores;
    private List<JsonNode> baselineMetrics;

    private List<String> overrides(String name) {
        List<String> o = new ArrayList<>(List.of(RUN));
        o.add("run.name=" + name);
        return TestRuns.tinyOverrides(tmp, o.toArray(String[]::new));
    }

    @BeforeAll
    void uninterrupted() throws IOException {
        try (Trainer t = Trainer.create(slt.config.ConfigLoader.load(null, overrides("baseline")), false)) {
            t.run();
            baselineScores = TestRuns.trained(t.model());
        }
        baselineMetrics = TestRuns.metrics(tmp.resolve("runs/baseline"));
    }

    private Process start(String name, String... jvmProps) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true", "-Dslt.log.level=info"));
        cmd.addAll(List.of(jvmProps));
        cmd.addAll(List.of("-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                "slt.cli.Main", "train", "--config", "configs/quickstart.yaml"));
        for (String o : overrides(name)) {
            cmd.add("--set");
            cmd.add(o);
        }
        Path log = tmp.resolve(name + ".log");
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static void waitFor(String what, BooleanSupplier condition, Process p) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!condition.getAsBoolean()) {
            assertTrue(p.isAlive(), "process ended before " + what);
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(100);
        }
    }

    private static long lastLoggedStep(Path runDir) {
        try {
            List<String> lines = Files.readAllLines(runDir.resolve("metrics.jsonl"));
            return lines.isEmpty() ? -1 : JSON.readTree(lines.get(lines.size() - 1)).get("step").asLong();
        } catch (IOException e) {
            return -1;
        }
    }

    private void resumeAndCompare(Path runDir, long expectedFrom) throws IOException {
        try (Trainer t = Trainer.resume(runDir, List.of())) {
            assertEquals(expectedFrom, t.step(), "resumed from the last complete checkpoint");
            t.run();
            List<float[]> got = TestRuns.trained(t.model());
            for (int i = 0; i < got.size(); i++) {
                assertArrayEquals(baselineScores.get(i), got.get(i), "scores of tensor " + i);
            }
        }
        assertEquals(TestRuns.withoutTiming(baselineMetrics), TestRuns.withoutTiming(TestRuns.metrics(runDir)), "metrics.jsonl");
    }

    @Test
    void sigtermFinishesTheStepSavesAndExitsZeroThenResumeCompletesTheSameRun() throws Exception {
        Path dir = tmp.resolve("runs/term");
        Process p = start("term");
        waitFor("step 3", () -> lastLoggedStep(dir) >= 3, p);
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "exits after SIGTERM");
        String log = Files.readString(tmp.resolve("term.log"));
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("./slt resume " + dir), log);
        long stopped = new Checkpoints(dir).latest().orElseThrow().step();
        assertEquals(lastLoggedStep(dir), stopped, "the checkpoint is of the last finished step");
        assertTrue(stopped < 24, "stopped early");
        resumeAndCompare(dir, stopped);
    }

    @Test
    void sigkillDuringTrainingResumesFromTheLastCompleteCheckpoint() throws Exception {
        Path dir = tmp.resolve("runs/kill");
        Process p = start("kill");
        waitFor("a checkpoint and a later step", () -> {
            try {
                long ck = new Checkpoints(dir).latest().map(Checkpoints.Checkpoint::step).orElse(-1L);
                return ck >= 4 && lastLoggedStep(dir) > ck;
            } catch (IOException e) {
                return false;
            }
        }, p);
        p.destroyForcibly(); // SIGKILL
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(137, p.exitValue());
        long ck = new Checkpoints(dir).latest().orElseThrow().step();
        assertTrue(lastLoggedStep(dir) > ck, "metrics went beyond the checkpoint before the kill");
        resumeAndCompare(dir, ck);
    }

    @Test
    void sigkillWhileWritingACheckpointLeavesThePreviousOneUsable() throws Exception {
        Path dir = tmp.resolve("runs/midwrite");
        Path ckRoot = dir.resolve("checkpoints");
        Process p = start("midwrite", "-Dslt.test.pause_in_checkpoint_write_ms=120000", "-Dslt.test.pause_from_step=6");
        waitFor("the write of step 6 to pause", () -> pausedWrite(ckRoot) != null, p);
        Path half = pausedWrite(ckRoot);
        assertTrue(half.getFileName().toString().startsWith(".tmp-step-00000006"), half.toString());
        p.destroyForcibly();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(Files.isDirectory(half), "the interrupted write left its temporary directory");
        assertFalse(Files.exists(ckRoot.resolve("step-00000006")), "no checkpoint of step 6 appeared");
        assertEquals("step-00000004", Files.readString(ckRoot.resolve("latest")).trim(), "latest still names step 4");
        resumeAndCompare(dir, 4);
        assertFalse(Files.exists(half), "resume cleaned the half-written directory up");
    }

    private static Path pausedWrite(Path ckRoot) {
        if (!Files.isDirectory(ckRoot)) {
            return null;
        }
        try (Stream<Path> s = Files.list(ckRoot)) {
            return s.filter(d -> Files.exists(d.resolve("PAUSED"))).findFirst().orElse(null);
        } catch (IOException e) {
            return null;
        }
    }
}
