package slt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;
import slt.config.Config;

/** Data parallel over model replicas, on the CPU (N replicas share it: the same code path a GPU node runs). */
class ReplicasTest {
    /** 8 steps of 4 micro-batches of 1; evaluations every 2 steps. */
    static final String[] SHORT = {"data.seq_len=32", "train.batch_size=4", "train.micro_batch=1", "train.epochs=2",
        "train.steps_per_epoch=4", "train.eval_every=2", "train.log_every=2", "train.eval_windows=4", "train.warmup_epochs=0.5",
        "train.checkpoint_every=2"};

    @TempDir
    Path tmp;

    private Config config(String name, String... extra) {
        List<String> o = new ArrayList<>(List.of(SHORT));
        o.add("run.name=" + name);
        o.addAll(List.of(extra));
        return TestRuns.tiny(tmp, o.toArray(String[]::new));
    }

    private record Run(List<float[]> scores, List<Double> valLosses) {}

    private Run train(String name, String... extra) throws IOException {
        try (Trainer t = Trainer.create(config(name, extra), false)) {
            t.run();
            return new Run(TestRuns.trained(t.model()), valLosses(tmp.resolve("runs").resolve(name)));
        }
    }

    private static List<Double> valLosses(Path runDir) throws IOException {
        List<Double> v = new ArrayList<>();
        for (JsonNode line : TestRuns.metrics(runDir)) {
            if (line.has("val_loss")) {
                v.add(line.get("val_loss").asDouble());
            }
        }
        return v;
    }

    private static void assertSameScores(List<float[]> a, List<float[]> b, String what) {
        assertEquals(a.size(), b.size(), what);
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i), b.get(i), what + ", tensor " + i);
        }
    }

    @Test
    void replicasAreDeterministicAndReachTheValidationLossesOfOneReplica() throws IOException {
        Run one = train("one");
        Run two = train("two", "run.replicas=2");
        Run again = train("again", "run.replicas=2");
        Run four = train("four", "run.replicas=4");
        assertSameScores(two.scores(), again.scores(), "two runs with 2 replicas");
        assertEquals(two.valLosses(), again.valLosses());
        assertEquals(5, one.valLosses().size(), "steps 0, 2, 4, 6, 8");
        for (Run r : List.of(two, four)) {
            assertEquals(one.valLosses().size(), r.valLosses().size());
            for (int i = 0; i < one.valLosses().size(); i++) {
                double rel = Math.abs(r.valLosses().get(i) - one.valLosses().get(i)) / one.valLosses().get(i);
                assertTrue(rel < 1e-4, "evaluation " + i + ": " + r.valLosses().get(i) + " vs " + one.valLosses().get(i));
            }
        }
        assertTrue(one.valLosses().get(4) < one.valLosses().get(0) - 0.01, "it trained: " + one.valLosses());
    }

    @Test
    void aRunWithReplicasStoppedAndResumedIsBitIdenticalAndMayResumeWithAnotherCount() throws IOException {
        Run whole = train("whole", "run.replicas=2");
        Path dir = tmp.resolve("runs/cut");
        try (Trainer t = Trainer.create(config("cut", "run.replicas=2"), false)) {
            t.stopAfter(3);
            t.run();
        }
        try (Trainer t = Trainer.resume(dir, List.of())) {
            t.run();
            assertSameScores(whole.scores(), TestRuns.trained(t.model()), "stopped at 3, resumed with 2 replicas");
        }
        assertEquals(whole.valLosses(), valLosses(dir));

        Path other = tmp.resolve("runs/other");
        try (Trainer t = Trainer.create(config("other", "run.replicas=2"), false)) {
            t.stopAfter(4);
            t.run();
        }
        try (Trainer t = Trainer.resume(other, List.of("run.replicas=1"))) { // another summation order: allowed
            t.run();
        }
        List<Double> v = valLosses(other);
        for (int i = 0; i < v.size(); i++) {
            assertTrue(Math.abs(v.get(i) - whole.valLosses().get(i)) / whole.valLosses().get(i) < 1e-4, v + " vs " + whole.valLosses());
        }
    }

    @Test
    void badReplicaSettingsAreOneLineErrorsNamingTheKeys() {
        UserError split = assertThrows(UserError.class, () -> config("x", "train.batch_size=6", "train.micro_batch=2",
                "run.replicas=2"));
        assertTrue(split.getMessage().contains("train.batch_size 6") && split.getMessage().contains("run.replicas 2")
                && split.getMessage().contains("micro_batch x replicas (4)"), split.getMessage());
        UserError none = assertThrows(UserError.class, () -> config("x", "run.replicas=0"));
        assertTrue(none.getMessage().contains("run.replicas must be >= 1"), none.getMessage());
        UserError gpus = assertThrows(UserError.class, () -> config("x", "run.replicas=2", "run.gpus=[0, 0]"));
        assertTrue(gpus.getMessage().contains("run.gpus [0, 0]") && gpus.getMessage().contains("distinct"), gpus.getMessage());
        UserError count = assertThrows(UserError.class, () -> config("x", "run.replicas=2", "run.gpus=[1]"));
        assertTrue(count.getMessage().contains("run.gpus [1]"), count.getMessage());
    }

    @Test
    void replicaDevicesFollowTheConfigAndTooFewGpusIsOneLine() {
        assertEquals(List.of(Device.cpu(), Device.cpu(), Device.cpu()), Devices.replicaDevices(false, 3, null, 0));
        assertEquals(List.of(Device.gpu(0), Device.gpu(1)), Devices.replicaDevices(true, 2, null, 4));
        assertEquals(List.of(Device.gpu(2), Device.gpu(3)), Devices.replicaDevices(true, 2, List.of(2, 3), 4));
        UserError few = assertThrows(UserError.class, () -> Devices.replicaDevices(true, 4, null, 2));
        assertTrue(few.getMessage().contains("run.replicas 4") && few.getMessage().contains("2 GPU(s)"), few.getMessage());
        UserError named = assertThrows(UserError.class, () -> Devices.replicaDevices(true, 2, List.of(0, 5), 4));
        assertTrue(named.getMessage().contains("GPU 5 in run.gpus"), named.getMessage());
    }
}
