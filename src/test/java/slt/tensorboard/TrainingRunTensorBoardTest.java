package slt.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;
import slt.config.Config;
import slt.tensorboard.SimulatedRuns.Point;
import slt.train.Faults;
import slt.train.Trainer;

/**
 * A real training run's TensorBoard files: the same points as metrics.jsonl, also after a crash
 * and a resume (the points computed again after the checkpoint supersede the first ones), as both
 * of TensorBoard's loading rules and, where it is installed, TensorBoard itself read them.
 */
class TrainingRunTensorBoardTest {
    @TempDir
    Path tmp;

    private Config config(String name) {
        return TestRuns.tiny(tmp, "run.name=" + name, "data.seq_len=32", "train.batch_size=2", "train.micro_batch=2",
                "train.epochs=2", "train.steps_per_epoch=6", "train.eval_every=4", "train.log_every=2",
                "train.eval_windows=2", "train.checkpoint_every=4", "train.warmup_epochs=0.5");
    }

    /** metrics.jsonl as TensorBoard tags, values as float32 (what TensorBoard stores). */
    private static Map<String, List<Point>> fromMetrics(Path run) throws IOException {
        Map<String, List<Point>> m = new TreeMap<>();
        String[][] tags = {{"loss", "train/loss"}, {"lr", "train/lr"}, {"tokens_per_s", "train/tokens_per_s"},
            {"val_loss", "val/loss"}, {"val_ppl", "val/ppl"}};
        for (JsonNode line : TestRuns.metrics(run)) {
            for (String[] t : tags) {
                if (line.has(t[0])) {
                    m.computeIfAbsent(t[1], k -> new ArrayList<>()).add(new Point(line.get("step").asLong(),
                            (float) line.get(t[0]).asDouble()));
                }
            }
        }
        return m;
    }

    private static Map<String, List<Point>> only(Map<String, List<Point>> view, String prefix) {
        Map<String, List<Point>> m = new TreeMap<>(view);
        m.keySet().removeIf(k -> !k.startsWith(prefix));
        return m;
    }

    @Test
    void aCrashedAndResumedRunShowsTheSamePointsAsItsMetrics() throws Exception {
        Path run = tmp.resolve("runs/tb");
        try (Trainer t = Trainer.create(config("tb"), false)) {
            t.addListener(new Faults(7, 0, 0, null)); // step 7 diverges: steps 5-6 were logged after the checkpoint of 4
            assertThrows(UserError.class, t::run);
        }
        Path tb = run.resolve(TensorBoardLog.DIR);
        assertTrue(SimulatedRuns.rustLoaderView(tb).get("train/loss").stream().anyMatch(p -> p.step() == 6),
                "the first process logged step 6");
        try (Trainer t = Trainer.resume(run, List.of())) {
            t.run();
        }
        Map<String, List<Point>> metrics = fromMetrics(run);
        assertEquals(List.of(0L, 4L, 8L, 12L), metrics.get("val/loss").stream().map(Point::step).toList());
        for (Map<String, List<Point>> view : List.of(SimulatedRuns.pythonLoaderView(tb), SimulatedRuns.rustLoaderView(tb))) {
            assertEquals(metrics, merge(only(view, "train/"), only(view, "val/")));
            assertEquals(List.of(0L, 4L, 8L, 12L), view.get("mask/kept_score_mean").stream().map(Point::step).toList());
            // the fraction changed since the same process's previous evaluation: step 4 (since 0) from the first
            // process; the resumed one has no previous evaluation at 8, so its first is at 12
            assertEquals(List.of(4L, 12L), view.get("mask/changed_fraction").stream().map(Point::step).toList());
            for (Point p : view.get("mask/changed_fraction")) {
                float f = (Float) p.value();
                assertTrue(f > 0 && f < 1, "some, not all, of the mask moved: " + f);
            }
            assertTrue(view.get("config").stream().allMatch(p -> ((String) p.value()).contains("tensorboard: true")));
        }
        if (TensorBoardReadTest.unavailable == null) { // TensorBoard's own three loaders agree
            JsonNode out = TensorBoardReadTest.tensorBoardRead(tb);
            for (String loader : List.of("accumulator", "multiplexer", "data_server")) {
                JsonNode v = out.get(loader);
                assertTrue(v != null && !v.isNull(), loader + " failed: " + out.path(loader + "_error").asText());
                Map<String, List<Point>> shown = new TreeMap<>();
                v.get("scalars").fields().forEachRemaining(e -> e.getValue().forEach(p -> shown.computeIfAbsent(e.getKey(),
                        k -> new ArrayList<>()).add(new Point(p.get(0).asLong(), TensorBoardReadTest.floatOf(p.get(1).asDouble())))));
                shown.values().forEach(points -> points.sort(java.util.Comparator.comparingLong(Point::step)));
                assertEquals(metrics, merge(only(shown, "train/"), only(shown, "val/")), loader);
            }
        }
        assertTrue(Files.size(EventFileReader.eventFiles(tb).get(0)) < 20_000, "a few KB");
    }

    private static Map<String, List<Point>> merge(Map<String, List<Point>> a, Map<String, List<Point>> b) {
        Map<String, List<Point>> m = new TreeMap<>(a);
        m.putAll(b);
        return m;
    }

    @Test
    void tensorboardFalseWritesNoFiles() throws IOException {
        Config c = TestRuns.tiny(tmp, "run.name=off", "data.seq_len=32", "train.batch_size=2", "train.micro_batch=2",
                "train.epochs=1", "train.steps_per_epoch=2", "train.eval_windows=2", "train.tensorboard=false");
        try (Trainer t = Trainer.create(c, false)) {
            t.run();
        }
        assertTrue(!Files.exists(tmp.resolve("runs/off").resolve(TensorBoardLog.DIR)));
    }
}
