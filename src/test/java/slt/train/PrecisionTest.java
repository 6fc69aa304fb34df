package slt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;
import slt.checkpoint.RunState;
import slt.config.Config;
import slt.model.Gpt2;
import slt.model.Host;
import slt.model.ModelSpec;

/**
 * train.precision on the CPU (libtorch runs bf16 and fp16 products there, slowly): 16-bit losses and
 * straight-through score gradients against fp32's, a short training against fp32's, fp16's loss
 * scaling skipping an injected overflow and recovering, exact resume within a precision, and the
 * TF32 switch reaching the C environment libtorch reads.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrecisionTest {
    @TempDir
    static Path tmp;

    /** Best validation loss and the trained scores of the same 6-step run in fp32, bf16 and fp16. */
    private final Map<Config.Precision, Double> best = new LinkedHashMap<>();
    private final Map<Config.Precision, List<float[]>> scores = new LinkedHashMap<>();

    @BeforeAll
    void theSameRunInEachPrecision() throws IOException {
        for (Config.Precision p : new Config.Precision[] {Config.Precision.FP32, Config.Precision.BF16, Config.Precision.FP16}) {
            String name = p.name().toLowerCase();
            try (Trainer t = Trainer.create(config(name, "train.precision=" + name), false)) {
                assertEquals(p, t.precision());
                Map<String, Object> summary = t.run();
                assertEquals(name, summary.get("precision"), "summary.json names the precision");
                best.put(p, (Double) summary.get("best_val_loss"));
                scores.put(p, TestRuns.trained(t.model()));
            }
        }
    }

    /**
     * A run of 6 steps of 2 x 8 tokens, evaluated at 4 and 6 on 4 windows: 16-bit products on this
     * CPU run at a few GFLOP/s (no fast bf16/fp16 path), and GPT-2's 50,257-word LM head dominates.
     */
    private Config config(String name, String... extra) {
        List<String> o = new ArrayList<>(List.of(ResumeTest.SHORT));
        o.addAll(List.of("run.name=" + name, "data.seq_len=8", "train.batch_size=2", "train.micro_batch=1",
                "train.epochs=1"));
        o.addAll(List.of(extra));
        return TestRuns.tiny(tmp, o.toArray(String[]::new));
    }

    /** Loss and dL/dS of every tensor of a tiny model (vocabulary 101), for random ids, computing in {@code p}. */
    private static Map<String, float[]> lossAndGradients(Config.Precision p) {
        ModelSpec spec = new ModelSpec(2, 2, 128, 64, 64, 32, 101, 0.02, 0.02, 2.83, 4.0, 1e-5, Config.Mode.EDGEPOPUP,
                true, 0.3, Config.Scope.TENSOR, 1.0, 3);
        Map<String, float[]> out = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2 model = Gpt2.create(spec, m);
            model.setPrecision(p);
            model.refreshMasks();
            long[] ids = new java.util.SplittableRandom(4).longs(2 * 33, 0, 101).toArray();
            NDArray all = m.create(ids, new Shape(2, 33));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = Losses.crossEntropy(model.logits(all.get(":, 0:32")), all.get(":, 1:33"));
                out.put("loss", new float[] {(float) Host.value(loss)});
                gc.backward(loss);
                model.gradients().forEach((k, g) -> out.put(k, Host.floats(g)));
            }
        }
        return out;
    }

    @Test
    void sixteenBitLossesAndScoreGradientsFollowFp32WithinTheirPrecision() {
        Map<String, float[]> ref = lossAndGradients(Config.Precision.FP32);
        // bf16 keeps 8 significant bits (relative step 2^-8 = 0.004), fp16 11 (0.0005); per product
        // and summed over 128-wide dot products the error stays a small multiple of that
        Object[][] cases = {{Config.Precision.BF16, 5e-3, 0.995}, {Config.Precision.FP16, 5e-4, 0.9999}};
        for (Object[] k : cases) {
            Config.Precision p = (Config.Precision) k[0];
            Map<String, float[]> got = lossAndGradients(p);
            double lossRel = Math.abs(got.get("loss")[0] - ref.get("loss")[0]) / ref.get("loss")[0];
            assertTrue(lossRel < (double) k[1], p + ": loss " + got.get("loss")[0] + " vs fp32 " + ref.get("loss")[0]);
            assertTrue(lossRel > 0, p + ": the loss differs from fp32 at all (the products did run in 16 bits)");
            for (String name : ref.keySet()) {
                if (name.equals("loss")) {
                    continue;
                }
                double cos = cosine(ref.get(name), got.get(name));
                assertTrue(cos > (double) k[2], p + " " + name + ": cosine to the fp32 score gradient " + cos);
            }
        }
    }

    private static double cosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    @Test
    void aShortTrainingIn16BitsEndsNearFp32() throws IOException {
        double fp32 = best.get(Config.Precision.FP32);
        // bf16: every step as fp32's, products rounded to 8 bits: within 0.03 nats after 6 steps.
        assertEquals(fp32, best.get(Config.Precision.BF16), 0.03, "bf16 against fp32: " + best);
        // fp16 at 16 tokens a step overflows at the starting scale 2^16 (the head's weight gradient
        // sums 2^16 / 16 x logit_scale 4 x |h| over a token's occurrences): its first steps are
        // skipped, as PyTorch's GradScaler would, and the scale settles (here: halved once per skip).
        List<JsonNode> fp16 = TestRuns.metrics(tmp.resolve("runs/fp16"));
        JsonNode last = fp16.get(fp16.size() - 1);
        long skipped = last.get("skipped_steps").asLong();
        assertTrue(skipped >= 1 && skipped <= 2, "a skipped step or two while the scale settles: " + last);
        assertEquals(65536.0 / Math.pow(2, skipped), last.get("loss_scale").asDouble(), "halved once per skip: " + last);
        // the numerics of fp16 products: the same run from a scale that does not overflow (2^12)
        // takes every step fp32 takes, and ends within 0.03 nats of it
        try (Trainer t = Trainer.create(config("fp16-settled", "train.precision=fp16"), false)) {
            t.setState(t.state().withLossScale(new RunState.LossScale(4096, 0, 0)));
            Map<String, Object> summary = t.run();
            assertEquals(0L, t.state().lossScale().skipped(), "no step skipped from 2^12");
            assertEquals(fp32, (Double) summary.get("best_val_loss"), 0.03, "fp16 against fp32 " + fp32);
        }
        assertTrue(TestRuns.metrics(tmp.resolve("runs/fp32")).stream().noneMatch(l -> l.has("loss_scale")),
                "fp32 lines are as before");
        assertTrue(!java.util.Arrays.equals(scores.get(Config.Precision.FP32).get(3), scores.get(Config.Precision.BF16).get(3)),
                "bf16 computed something else than fp32");
    }

    @Test
    void fp16SkipsAnInjectedOverflowHalvingTheScaleAndRecovers() throws IOException {
        // 4x the starting scale, at which the head's weight gradient already overflowed (see above)
        double injected = Math.pow(2, 18);
        long[] before = new long[1];
        try (Trainer t = Trainer.create(config("overflow", "train.precision=fp16"), false)) {
            t.addListener(new TrainingListener() {
                @Override
                public void onStepStart(Trainer trainer, long step) {
                    if (step == 1) {
                        before[0] = trainer.state().lossScale().skipped();
                        trainer.setState(trainer.state().withLossScale(new RunState.LossScale(injected, 0, before[0])));
                    }
                }
            });
            t.run();
            RunState s = t.state();
            long skipped = s.lossScale().skipped() - before[0];
            assertTrue(skipped >= 1, "the overflowing step is skipped");
            assertEquals(injected / Math.pow(2, skipped), s.lossScale().scale(), "halved once per skipped step");
            assertEquals(s.step() - s.lossScale().skipped(), s.optimizerSteps(), "a skipped step does not update the scores");
            assertTrue(s.lossScale().cleanSteps() >= 1, "it recovered: clean steps follow the skips " + s.lossScale());
        }
        List<JsonNode> lines = TestRuns.metrics(tmp.resolve("runs/overflow"));
        double untrained = lines.get(0).get("val_loss").asDouble();
        double last = lines.get(lines.size() - 1).get("val_loss").asDouble();
        assertTrue(last < untrained, "it still learns: val_loss " + untrained + " untrained, " + last + " at the end");
        assertTrue(lines.stream().anyMatch(l -> l.path("skipped_steps").asLong() > before[0]),
                "skipped steps appear in metrics.jsonl");
    }

    @Test
    void theLossScaleDoublesAfterTwoThousandCleanSteps() {
        RunState.LossScale s = new RunState.LossScale(1024, RunState.LossScale.GROWTH_INTERVAL - 2, 3);
        s = s.afterCleanStep();
        assertEquals(new RunState.LossScale(1024, RunState.LossScale.GROWTH_INTERVAL - 1, 3), s);
        s = s.afterCleanStep();
        assertEquals(new RunState.LossScale(2048, 0, 3), s);
        assertEquals(new RunState.LossScale(1024, 0, 4), s.afterOverflow());
    }

    @Test
    void a16BitRunStoppedAndResumedEqualsTheUninterruptedOneBitForBit() throws IOException {
        // fp16's checkpoints carry more state than fp32's (the loss scale, which its first steps change)
        for (Config.Precision p : List.of(Config.Precision.FP16, Config.Precision.BF16)) {
            String name = p.name().toLowerCase();
            try (Trainer t = Trainer.create(config(name + "-stopped", "train.precision=" + name), false)) {
                t.stopAfter(3);
                t.run();
            }
            Path dir = tmp.resolve("runs/" + name + "-stopped");
            List<float[]> resumed;
            try (Trainer t = Trainer.resume(dir, List.of())) {
                assertEquals(p, t.precision());
                t.run();
                resumed = TestRuns.trained(t.model());
            }
            ResumeTest.assertScoresEqual(scores.get(p), resumed, name + " stopped at 3 and resumed");
            assertEquals(TestRuns.withoutTiming(TestRuns.metrics(tmp.resolve("runs/" + name))),
                    TestRuns.withoutTiming(TestRuns.metrics(dir)), name + " metrics");
            UserError e = assertThrows(UserError.class, () -> Trainer.resume(dir, List.of("train.precision=fp32")));
            assertTrue(e.getMessage().contains("train.precision"), e.getMessage());
        }
    }

    @Test
    void theTf32SwitchReachesTheEnvironmentLibtorchReads() {
        for (String[] k : new String[][] {{"tf32", "1"}, {"fp32", "0"}, {"bf16", "1"}, {"auto", "0"}}) {
            // on the CPU: a trainer sets the variable like on a GPU (auto is fp32 here)
            try (Trainer t = Trainer.create(config("tf32-" + k[0], "train.precision=" + k[0]), false)) {
                String seen = NativeLibrary.getInstance("c").getFunction("getenv")
                        .invokeString(new Object[] {Devices.TF32_ENV}, false);
                assertEquals(k[1], seen, k[0] + ": getenv(" + Devices.TF32_ENV + ") in this process");
                assertEquals(k[1].equals("1"), Devices.tf32());
            }
        }
        assertEquals(Config.Precision.TF32, Devices.precision(Config.Precision.AUTO, ai.djl.Device.gpu()));
        assertEquals(Config.Precision.FP32, Devices.precision(Config.Precision.AUTO, ai.djl.Device.cpu()));
        UserError bad = assertThrows(UserError.class, () -> config("bad", "train.precision=fp64"));
        assertTrue(bad.getMessage().contains("train.precision") && bad.getMessage().contains("bf16"), bad.getMessage());
    }
}
