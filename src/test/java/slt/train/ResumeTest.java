package slt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;
import slt.checkpoint.Checkpoints;
import slt.config.Config;

/**
 * Stop-and-resume equals an uninterrupted run, bit for bit, on CPU; damaged checkpoints fall
 * back; configs cannot drift; NaN and failing writes stop cleanly with the last checkpoint intact.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResumeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** 18 steps; checkpoints every 6; evaluations every 4; logs every 2 (and at evaluations). */
    static final String[] SHORT = {"data.seq_len=32", "train.batch_size=4", "train.micro_batch=2", "train.epochs=3",
        "train.steps_per_epoch=6", "train.eval_every=4", "train.log_every=2", "train.eval_windows=4", "train.warmup_epochs=0.5"};

    @TempDir
    static Path tmp;

    private List<float[]> baselineScores;
    private List<JsonNode> baselineMetrics;
    private Map<String, Object> baselineSummary;

    Config config(String name, String... extra) {
        List<String> o = new ArrayList<>(List.of(SHORT));
        o.add("run.name=" + name);
        o.addAll(List.of(extra));
        return TestRuns.tiny(tmp, o.toArray(String[]::new));
    }

    @BeforeAll
    void uninterruptedRun() throws IOException {
        try (Trainer t = Trainer.create(config("baseline"), false)) {
            baselineSummary = t.run();
            baselineScores = TestRuns.trained(t.model());
        }
        baselineMetrics = TestRuns.metrics(tmp.resolve("runs/baseline"));
    }

    @Test
    void stoppingAtAnyStepAndResumingEqualsTheUninterruptedRunBitForBit() throws IOException {
        // 3: mid-epoch, off the log interval; 5: just before a checkpoint; 8: at an evaluation
        // (resuming from a regular checkpoint, written without a stop, is in the damaged-checkpoint test)
        for (long stopAt : new long[] {3, 5, 8}) {
            String name = "stop" + stopAt;
            try (Trainer t = Trainer.create(config(name), false)) {
                t.stopAfter(stopAt);
                assertNull(t.run(), "a stopped run returns no summary");
                assertEquals(stopAt, t.step());
            }
            Path dir = tmp.resolve("runs/" + name);
            assertFalse(Files.exists(dir.resolve(RunDirectory.SUMMARY)), "not finished yet");
            assertEquals(stopAt, new Checkpoints(dir).latest().orElseThrow().step(), "checkpoint at the stop");
            Map<String, Object> summary;
            List<float[]> resumed;
            try (Trainer t = Trainer.resume(dir, List.of())) {
                assertEquals(stopAt, t.step());
                summary = t.run();
                resumed = TestRuns.trained(t.model());
            }
            assertScoresEqual(baselineScores, resumed, "stopped at " + stopAt);
            assertEquals(TestRuns.withoutTiming(baselineMetrics), TestRuns.withoutTiming(TestRuns.metrics(dir)), "metrics.jsonl, stopped at " + stopAt);
            for (String key : List.of("best_val_loss", "best_step", "final_val_loss", "steps", "tokens", "params_nonzero")) {
                assertEquals(baselineSummary.get(key), summary.get(key), key + ", stopped at " + stopAt);
            }
        }
    }

    @Test
    void keepsTheNewestCheckpointsAndTheBest() throws IOException {
        Path dir = tmp.resolve("runs/keep");
        try (Trainer t = Trainer.create(config("keep", "train.checkpoint_every=2", "train.keep_checkpoints=2"), false)) {
            t.run();
        }
        Checkpoints ck = new Checkpoints(dir);
        List<Long> steps = ck.steps();
        long best = ck.best().orElseThrow().step();
        assertTrue(steps.containsAll(List.of(16L, 18L)), "the newest two: " + steps);
        assertTrue(steps.contains(best), "the best (" + best + "): " + steps);
        assertTrue(steps.size() <= 3, "nothing else kept: " + steps);
        for (long s : steps) {
            assertTrue(Checkpoints.verify(dir.resolve("checkpoints").resolve(String.format("step-%08d", s))).isEmpty());
        }
    }

    @Test
    void damagedCheckpointsAreReportedAndTheOneBeforeIsUsed() throws IOException {
        Path dir = tmp.resolve("runs/damaged");
        try (Trainer t = Trainer.create(config("damaged", "train.checkpoint_every=2", "train.keep_checkpoints=10"), false)) {
            t.stopAfter(13); // checkpoints at every even step and at 13
            t.run();
        }
        Path ck = dir.resolve("checkpoints");
        // truncated tensors in the newest, a flipped bit in the next, a missing file in the one before
        truncate(ck.resolve("step-00000013/model.safetensors"));
        flipBit(ck.resolve("step-00000012/optimizer.safetensors"));
        Files.delete(ck.resolve("step-00000010/state.json"));
        assertTrue(Checkpoints.verify(ck.resolve("step-00000013")).orElseThrow().contains("truncated"));
        assertTrue(Checkpoints.verify(ck.resolve("step-00000012")).orElseThrow().contains("corrupt"));
        assertTrue(Checkpoints.verify(ck.resolve("step-00000010")).orElseThrow().contains("missing"));
        List<float[]> resumed;
        try (Trainer t = Trainer.resume(dir, List.of())) {
            assertEquals(8, t.step(), "fell back to the newest intact checkpoint");
            t.run();
            resumed = TestRuns.trained(t.model());
        }
        assertScoresEqual(baselineScores, resumed, "after falling back to step 8");
        assertEquals(TestRuns.withoutTiming(baselineMetrics), TestRuns.withoutTiming(TestRuns.metrics(dir)));
    }

    @Test
    void resumeMayChangeOnlyKeysThatLeaveTheComputationSoFarAlone() throws IOException {
        Path dir = tmp.resolve("runs/keys");
        try (Trainer t = Trainer.create(config("keys"), false)) {
            t.stopAfter(4);
            t.run();
        }
        String configBefore = Files.readString(dir.resolve(RunDirectory.CONFIG));
        for (String bad : List.of("model.preset=mini", "slt.density=0.5", "train.seed=2", "slt.qk_scale=1", "train.lr=1e-3")) {
            UserError e = assertThrows(UserError.class, () -> Trainer.resume(dir, List.of(bad)));
            assertTrue(e.getMessage().contains(bad.substring(0, bad.indexOf('='))) && e.getMessage().contains("train.epochs"),
                    e.getMessage());
        }
        assertEquals(configBefore, Files.readString(dir.resolve(RunDirectory.CONFIG)), "refusals change nothing");

        // a checkpoint written under another config than config.yaml says: refused
        Files.writeString(dir.resolve(RunDirectory.CONFIG), configBefore.replace("density: 0.3", "density: 0.4"));
        UserError drift = assertThrows(UserError.class, () -> Trainer.resume(dir, List.of()));
        assertTrue(drift.getMessage().contains("slt.density") && drift.getMessage().contains("edited"), drift.getMessage());
        Files.writeString(dir.resolve(RunDirectory.CONFIG), configBefore);

        // extending the run is allowed and recorded
        try (Trainer t = Trainer.resume(dir, List.of("train.epochs=4", "train.eval_windows=2"))) {
            Map<String, Object> s = t.run();
            assertEquals(24L, s.get("steps"));
        }
        Config after = RunDirectory.open(dir).config();
        assertEquals(4, after.train().epochs());
        assertEquals(2, after.train().evalWindows());
    }

    @Test
    void aNanLossStopsTheRunWithTheLastCheckpointIntact() throws IOException {
        Path dir = tmp.resolve("runs/nan");
        try (Trainer t = Trainer.create(config("nan", "train.checkpoint_every=2"), false)) {
            t.addListener(new Faults(10, 0, 0, null)); // step 10 computes a NaN loss
            UserError e = assertThrows(UserError.class, t::run);
            assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("step 10")
                    && e.getMessage().contains("step 8"), e.getMessage());
        }
        Checkpoints.Checkpoint last = new Checkpoints(dir).latest().orElseThrow();
        assertEquals(8, last.step());
        for (JsonNode line : TestRuns.metrics(dir)) {
            assertTrue(line.get("step").asLong() < 10, "nothing logged for the NaN step: " + line);
        }
        List<float[]> resumed;
        try (Trainer t = Trainer.resume(dir, List.of())) {
            t.run();
            resumed = TestRuns.trained(t.model());
        }
        assertScoresEqual(baselineScores, resumed, "resumed after the NaN stop");
    }

    /** Replaces a checkpoint file and updates its MANIFEST entry, so that only the content is wrong. */
    private static void rewriteWithMatchingManifest(Path ckDir, String file, String text) throws IOException {
        Files.writeString(ckDir.resolve(file), text);
        com.fasterxml.jackson.databind.node.ObjectNode m =
                (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(ckDir.resolve(Checkpoints.MANIFEST).toFile());
        com.fasterxml.jackson.databind.node.ObjectNode entry = (com.fasterxml.jackson.databind.node.ObjectNode) m.get("files").get(file);
        entry.put("bytes", Files.size(ckDir.resolve(file)));
        entry.put("sha256", slt.Sha256.of(ckDir.resolve(file)));
        Files.write(ckDir.resolve(Checkpoints.MANIFEST), JSON.writeValueAsBytes(m));
    }

    @Test
    void aStateFileThatIsEmptyOrInconsistentIsADamagedCheckpoint() throws IOException {
        // an empty state.json whose MANIFEST entry matched restarted at step 0 with trained scores, silently
        Path dir = tmp.resolve("runs/state");
        try (Trainer t = Trainer.create(config("state", "train.checkpoint_every=2", "train.keep_checkpoints=10"), false)) {
            t.stopAfter(10);
            t.run();
        }
        Path ck = dir.resolve("checkpoints");
        String good = Files.readString(ck.resolve("step-00000008/state.json"));
        rewriteWithMatchingManifest(ck.resolve("step-00000010"), "state.json", "{}");
        rewriteWithMatchingManifest(ck.resolve("step-00000008"), "state.json", good.replace("\"step\" : 8", "\"step\" : 4"));
        rewriteWithMatchingManifest(ck.resolve("step-00000006"), "state.json",
                Files.readString(ck.resolve("step-00000006/state.json")).replaceFirst("\"sampler_position\" : \\d+",
                        "\"sampler_position\" : \"many\""));
        assertTrue(Checkpoints.verify(ck.resolve("step-00000010")).orElseThrow().contains("missing 'step'"));
        assertTrue(Checkpoints.verify(ck.resolve("step-00000008")).orElseThrow().contains("that of step 8"));
        assertTrue(Checkpoints.verify(ck.resolve("step-00000006")).orElseThrow().contains("sampler_position"));
        List<float[]> resumed;
        try (slt.LogCapture log = new slt.LogCapture(); Trainer t = Trainer.resume(dir, List.of())) {
            assertEquals(4, t.step(), "fell back past the three damaged states");
            assertTrue(log.has("step-00000010", "state.json", "falling back"), log.warnings().toString());
            t.run();
            resumed = TestRuns.trained(t.model());
        }
        assertScoresEqual(baselineScores, resumed, "after falling back to step 4");
        assertEquals(TestRuns.withoutTiming(baselineMetrics), TestRuns.withoutTiming(TestRuns.metrics(dir)),
                "no step written twice into metrics.jsonl");
    }

    @Test
    void resumeSaysItRemovedAHalfWrittenCheckpoint() throws IOException {
        Path dir = tmp.resolve("runs/halfwritten");
        try (Trainer t = Trainer.create(config("halfwritten", "train.checkpoint_every=2"), false)) {
            t.stopAfter(4);
            t.run();
        }
        Path stale = Files.createDirectories(dir.resolve("checkpoints/.tmp-step-00000006-12345")); // SIGKILL mid-write
        Files.writeString(stale.resolve("model.safetensors"), "half");
        try (slt.LogCapture log = new slt.LogCapture(); Trainer t = Trainer.resume(dir, List.of())) {
            assertEquals(4, t.step());
            assertFalse(Files.exists(stale));
            assertTrue(log.has("removing", stale.toString(), "did not finish"), log.warnings().toString());
        }
    }

    @Test
    void aLatestPointerThatNamesNothingUsableIsReported() throws IOException {
        Path dir = tmp.resolve("runs/pointer");
        try (Trainer t = Trainer.create(config("pointer", "train.checkpoint_every=2"), false)) {
            t.stopAfter(4);
            t.run();
        }
        Path ck = dir.resolve("checkpoints");
        for (String bad : List.of("../../etc", "step-00000099")) {
            Files.writeString(ck.resolve("latest"), bad + "\n");
            try (slt.LogCapture log = new slt.LogCapture()) {
                assertEquals(4, new Checkpoints(dir).latest().orElseThrow().step());
                assertTrue(log.has("latest", bad, "step-00000004"), bad + ": " + log.warnings());
            }
        }
        Files.writeString(ck.resolve("best"), "../../etc\n");
        IOException e = assertThrows(IOException.class, () -> new Checkpoints(dir).best());
        assertTrue(e.getMessage().contains("../../etc") && e.getMessage().contains("step-NNNNNNNN"), e.getMessage());
    }

    @Test
    void aFullDiskAtTheFirstCheckpointSaysThereIsNothingToResume() throws IOException {
        try (Trainer t = Trainer.create(config("firstfull", "train.checkpoint_every=2"), false)) {
            t.addListener(new Faults(-1, 0, 0, "No space left on device"));
            String e = slt.cli.Main.message(assertThrows(UserError.class, t::run)); // as the command line says it
            assertTrue(e.contains("No space left on device") && e.contains("no checkpoint yet")
                    && e.contains("--force") && !e.contains("is intact") && !e.contains("slt resume"), e);
        }
    }

    @Test
    void aMetricsFileThatCannotBeWrittenStopsTheRunWithAOneLineError() throws IOException {
        // an IOException from metrics.jsonl (a full disk) used to end the run with a stack trace, exit 1
        try (Trainer t = Trainer.create(config("nometrics"), false)) {
            Files.createDirectories(tmp.resolve("runs/nometrics").resolve(RunDirectory.METRICS)); // any write fails
            String e = slt.cli.Main.message(assertThrows(UserError.class, t::run)); // as the command line says it
            assertTrue(e.contains("cannot write " + tmp.resolve("runs/nometrics").resolve(RunDirectory.METRICS))
                    && e.contains("no checkpoint was written yet") && e.contains("--force"), e);
        }
    }

    @Test
    void aFailingCheckpointWriteStopsTheRunAndKeepsThePreviousCheckpoint() throws IOException {
        Path dir = tmp.resolve("runs/full");
        try (Trainer t = Trainer.create(config("full", "train.checkpoint_every=2"), false)) {
            t.stopAfter(6);
            t.run();
        }
        Path ck = dir.resolve("checkpoints/step-00000006");
        String manifest = Files.readString(ck.resolve(Checkpoints.MANIFEST));
        try (Trainer t = Trainer.resume(dir, List.of())) {
            t.addListener(new Faults(-1, 0, 0, "No space left on device"));
            UserError e = assertThrows(UserError.class, t::run);
            assertTrue(e.getMessage().contains("No space left on device") && e.getMessage().contains("step 8")
                    && e.getMessage().contains("(step 6) is intact"), e.getMessage());
        }
        assertEquals(manifest, Files.readString(ck.resolve(Checkpoints.MANIFEST)));
        assertTrue(Checkpoints.verify(ck).isEmpty());
        try (var s = Files.list(dir.resolve("checkpoints"))) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".tmp-")), "no half-written directory left");
        }
        assertEquals(6, new Checkpoints(dir).latest().orElseThrow().step());
    }

    @Test
    void aReadOnlyRunDirectoryIsRefusedClearlyAndLosesNothing() throws Exception {
        Path dir = tmp.resolve("runs/ro");
        try (Trainer t = Trainer.create(config("ro"), false)) {
            t.stopAfter(6);
            t.run();
        }
        String manifest = Files.readString(dir.resolve("checkpoints/step-00000006").resolve(Checkpoints.MANIFEST));
        boolean immutable = new ProcessBuilder("chattr", "+i", dir.toString(), dir.resolve("checkpoints").toString())
                .start().waitFor() == 0;
        org.junit.jupiter.api.Assumptions.assumeTrue(immutable || !Files.isWritable(dir), "cannot make a directory read-only here");
        try {
            UserError e = assertThrows(UserError.class, () -> {
                try (Trainer t = Trainer.resume(dir, List.of())) {
                    t.run();
                }
            });
            assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        } finally {
            new ProcessBuilder("chattr", "-i", dir.toString(), dir.resolve("checkpoints").toString()).start().waitFor();
        }
        assertEquals(manifest, Files.readString(dir.resolve("checkpoints/step-00000006").resolve(Checkpoints.MANIFEST)));
        assertEquals(6, new Checkpoints(dir).latest().orElseThrow().step());
    }

    static void assertScoresEqual(List<float[]> want, List<float[]> got, String what) {
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) {
            assertArrayEquals(want.get(i), got.get(i), what + ": tensor " + i);
        }
    }

    private static void truncate(Path f) throws IOException {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(r.length() / 2);
        }
    }

    private static void flipBit(Path f) throws IOException {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            long pos = r.length() - 100;
            r.seek(pos);
            int b = r.read();
            r.seek(pos);
            r.write(b ^ 0x10);
        }
    }
}
