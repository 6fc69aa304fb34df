package slt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;
import slt.config.Config;
import slt.model.Gpt2;
import slt.model.MaskedBlock;
import slt.model.ModelSpec;

/** End-to-end training of the tiny model on real WikiText text, on CPU. */
class TrainerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private Map<String, Object> train(Config config, List<float[]> weightsOut, List<float[]> scoresOut) throws IOException {
        try (Trainer trainer = Trainer.create(config, false)) {
            Map<String, Object> summary = trainer.run();
            for (MaskedBlock b : trainer.model().weights()) {
                weightsOut.add(b.weight().getArray().toFloatArray());
                if (b.scores() != null) {
                    scoresOut.add(b.scores().getArray().toFloatArray());
                }
            }
            return summary;
        }
    }

    @Test
    void edgePopupLowersValidationLossKeepsWeightsFrozenAndIsDeterministic() throws IOException {
        Config a = TestRuns.tiny(tmp, "run.name=a", "train.steps_per_epoch=20", "train.eval_every=20");
        List<float[]> weights = new ArrayList<>();
        List<float[]> scores = new ArrayList<>();
        Map<String, Object> summary = train(a, weights, scores);

        Path runDir = tmp.resolve("runs/a");
        List<JsonNode> metrics = TestRuns.metrics(runDir);
        double initial = metrics.get(0).get("val_loss").asDouble();
        assertEquals(0, metrics.get(0).get("step").asLong(), "first line: the untrained ticket");
        double best = (double) summary.get("best_val_loss");
        assertTrue(initial - best > 1.0, "validation loss fell by a clear margin: " + initial + " -> " + best);
        assertEquals(40L, summary.get("steps"));
        assertEquals(40L * 8 * 64, summary.get("tokens"));
        assertEquals(Math.pow(64, 0.25), (double) summary.get("qk_scale"), 1e-12);
        long total = (long) summary.get("params_total");
        assertEquals(Math.round(0.3 * total), (long) summary.get("params_nonzero"), 20, "about 30 % of weights kept");
        for (String key : List.of("best_step", "final_val_loss", "wall_s", "density", "mode", "preset")) {
            assertTrue(summary.containsKey(key), key);
        }
        JsonNode last = metrics.get(metrics.size() - 1);
        for (String key : List.of("step", "epoch", "loss", "lr", "tokens_per_s", "val_loss", "val_ppl")) {
            assertTrue(last.has(key), "metrics line has " + key + ": " + last);
        }

        // frozen weights: bit-identical to a freshly generated model with the same seed; scores moved
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2 fresh = Gpt2.create(ModelSpec.from(a.resolved()), m);
            int si = 0;
            for (int i = 0; i < fresh.weights().size(); i++) {
                MaskedBlock b = fresh.weights().get(i);
                assertArrayEquals(b.weight().getArray().toFloatArray(), weights.get(i), b.name() + " weight frozen");
                assertFalse(Arrays.equals(b.scores().getArray().toFloatArray(), scores.get(si++)), b.name() + " scores moved");
            }
        }

        // the same run again gives identical metrics (timing aside) and identical scores
        Config again = TestRuns.tiny(tmp, "run.name=b", "train.steps_per_epoch=20", "train.eval_every=20");
        List<float[]> scores2 = new ArrayList<>();
        train(again, new ArrayList<>(), scores2);
        assertEquals(TestRuns.withoutTiming(metrics), TestRuns.withoutTiming(TestRuns.metrics(tmp.resolve("runs/b"))));
        for (int i = 0; i < scores.size(); i++) {
            assertArrayEquals(scores.get(i), scores2.get(i), "scores identical in tensor " + i);
        }

        // evaluating the saved run reproduces the run's own final validation loss exactly
        Evaluation.Result r;
        try (LoadedModel m = LoadedModel.fromRun(runDir, LoadedModel.Which.LATEST, null, List.of())) {
            r = Evaluation.of(m, Config.Split.VALID, null);
        }
        assertEquals(40, r.step());
        assertEquals((double) summary.get("final_val_loss"), r.loss(), 0.0);
    }

    @Test
    void denseModeTrainsTheWeightsThemselves() throws IOException {
        Config dense = TestRuns.tiny(tmp, "run.name=dense", "slt.mode=dense", "train.epochs=1", "train.steps_per_epoch=3",
                "train.weight_decay=0.01");
        List<float[]> weights = new ArrayList<>();
        List<float[]> scores = new ArrayList<>();
        Map<String, Object> summary = train(dense, weights, scores);
        assertTrue(scores.isEmpty(), "dense mode has no scores");
        assertEquals(summary.get("params_total"), summary.get("params_nonzero"));
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2 fresh = Gpt2.create(ModelSpec.from(dense.resolved()), m);
            for (int i = 0; i < fresh.weights().size(); i++) {
                assertFalse(Arrays.equals(fresh.weights().get(i).weight().getArray().toFloatArray(), weights.get(i)),
                        fresh.weights().get(i).name() + " moved");
            }
        }
    }

    @Test
    void aSecondRunIntoTheSameDirectoryIsRefusedUnlessForcedAndForceKeepsTheOldRun() throws IOException {
        Config c = TestRuns.tiny(tmp, "run.name=same", "train.epochs=1", "train.steps_per_epoch=1");
        try (Trainer t = Trainer.create(c, false)) {
            t.run();
        }
        Path dir = tmp.resolve("runs/same");
        String before = Files.readString(dir.resolve(RunDirectory.SUMMARY));
        UserError e = assertThrows(UserError.class, () -> Trainer.create(c, false));
        String said = slt.cli.Main.message(e); // as the command line says it
        assertTrue(said.contains("--force") && said.contains(dir.toString()), said);
        assertEquals(before, Files.readString(dir.resolve(RunDirectory.SUMMARY)), "old run untouched");
        try (Trainer t = Trainer.create(c, true)) {
            assertFalse(Files.exists(dir.resolve(RunDirectory.SUMMARY)), "new run starts clean");
        }
        try (var s = Files.list(tmp.resolve("runs"))) {
            Path aside = s.filter(p -> p.getFileName().toString().startsWith("same.replaced-")).findFirst().orElseThrow();
            assertEquals(before, Files.readString(aside.resolve(RunDirectory.SUMMARY)), "forced: old run moved aside, not lost");
        }
    }

    @Test
    void nativeArraysDoNotAccumulateAcrossStepsAndValidations() throws IOException {
        Config c = TestRuns.tiny(tmp, "run.name=leak", "train.eval_windows=4", "train.grad_clip=1.0");
        try (Trainer t = Trainer.create(c, false)) {
            for (int i = 0; i < 2; i++) {
                t.trainStep(1e-3, null);
            }
            t.validate();
            long warm = t.liveArrays();
            for (int i = 0; i < 5; i++) {
                t.trainStep(1e-3, null);
                t.validate();
            }
            assertEquals(warm, t.liveArrays(), "arrays alive after 2 vs 7 steps");
        }
    }
}
