package slt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;
import slt.checkpoint.HfExport;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.model.Flops;
import slt.model.Gpt2;
import slt.model.MaskedBlock;
import slt.model.ModelSpec;

/**
 * The theorem's width: per-head query/key and value dimensions (model.qk_dim, model.v_dim) as
 * model keys. Shapes, the init's Q/K scaling, FLOPs, the default being today's model bit for bit,
 * exact resume and tickets of a widened run. (The attention against float64 and causality for
 * qk_dim != v_dim are in Gpt2Test; per-head densities in TicketAnatomyTest.)
 */
class WidthTest {
    @TempDir
    Path tmp;

    private Config config(String name, String... extra) {
        List<String> o = new ArrayList<>(List.of(ResumeTest.SHORT));
        o.add("run.name=" + name);
        o.addAll(List.of(extra));
        return TestRuns.tiny(tmp, o.toArray(String[]::new));
    }

    private static Map<String, MaskedBlock> byName(Gpt2 model) {
        Map<String, MaskedBlock> out = new java.util.HashMap<>();
        model.weights().forEach(b -> out.put(b.name(), b));
        return out;
    }

    @Test
    void widerHeadsWidenTheAttentionProjectionsAfterTheHeadSplitAndNothingElse() {
        Config c = config("w", "model.qk_dim=128", "model.v_dim=32");
        int d = 128; // tiny: 2 heads of 64
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2 wide = Gpt2.create(ModelSpec.from(c), m);
            Gpt2 plain = Gpt2.create(ModelSpec.from(config("p")), m);
            Map<String, MaskedBlock> w = byName(wide);
            Map<String, MaskedBlock> p = byName(plain);
            for (int i = 0; i < 2; i++) {
                String l = "h." + i + ".";
                assertEquals(new Shape(2 * (2 * 128 + 32), d), w.get(l + "attn.c_attn").weight().getShape(), "[Q; K; V] rows");
                assertEquals(new Shape(d, 2 * 32), w.get(l + "attn.c_proj").weight().getShape(), "reads heads x v_dim");
                for (String t : List.of("mlp.c_fc", "mlp.c_proj")) {
                    assertEquals(p.get(l + t).weight().getShape(), w.get(l + t).weight().getShape(), t + " unchanged");
                }
            }
            assertEquals(p.get("wte").weight().getShape(), w.get("wte").weight().getShape(), "d_model unchanged");
        }
        String named = config("x", "model.qk_dim=128", "model.v_dim=32", "run.name=null").runName();
        assertTrue(named.contains("-qkd128-vd32"), named);
        assertEquals(config("x", "run.name=null").runName(),
                config("x", "model.qk_dim=64", "model.v_dim=64", "run.name=null").runName(), "the default widths name no width");
    }

    @Test
    void autoScalesTheQueryAndKeyRowsByExactlyQkDimToTheQuarterAndLeavesValuesAlone() {
        for (int qk : new int[] {32, 128, 256}) {
            Config auto = config("a", "model.qk_dim=" + qk, "slt.qk_scale=auto");
            double scale = Math.sqrt(Math.sqrt(qk));
            assertEquals(scale, auto.qkScale(), 1e-15, "auto = qk_dim^(1/4)");
            try (NDManager m = NDManager.newBaseManager()) {
                float[] scaled = byName(Gpt2.create(ModelSpec.from(auto), m)).get("h.0.attn.c_attn").weight().getArray()
                        .toFloatArray();
                float[] plain = byName(Gpt2.create(ModelSpec.from(config("o", "model.qk_dim=" + qk, "slt.qk_scale=1")), m))
                        .get("h.0.attn.c_attn").weight().getArray().toFloatArray();
                int qkEntries = 2 * (2 * qk) * 128; // Q and K: 2 heads x qk rows each, 128 columns
                assertEquals(qkEntries + 2 * 64 * 128, plain.length);
                for (int i = 0; i < qkEntries; i++) {
                    assertEquals((float) (plain[i] * scale), scaled[i], "Q/K entry " + i + " at qk_dim " + qk);
                }
                assertArrayEquals(Arrays.copyOfRange(plain, qkEntries, plain.length),
                        Arrays.copyOfRange(scaled, qkEntries, scaled.length), "V rows untouched at qk_dim " + qk);
            }
        }
    }

    @Test
    void flopsCountTheModelsOwnMatricesAndAttentionAtItsWidths() {
        ModelSpec s = ModelSpec.from(config("f", "model.qk_dim=96", "model.v_dim=40"));
        long matrices = 0;
        try (NDManager m = NDManager.newBaseManager()) {
            for (MaskedBlock b : Gpt2.create(s, m).weights()) {
                if (!b.name().equals("wpe")) { // a lookup, not a product; wte is also the tied head
                    matrices += b.weight().getShape().size();
                }
            }
        }
        assertEquals(matrices, Flops.matmulParams(s));
        int t = 64;
        // per token and head, forward: q.k over t keys (2 t qk_dim) and the weighted sum of t values (2 t v_dim); x3 to train
        double attention = 3.0 * 2 * s.nLayer() * s.nHead() * t * (96 + 40);
        assertEquals(6.0 * matrices + attention, Flops.trainingPerToken(s, t), 1e-6);
    }

    @Test
    void widthKeysAreValidatedWithOneLineNamingTheKey() {
        for (String bad : List.of("model.qk_dim=0", "model.v_dim=-3", "model.qk_dim=1.5", "model.v_dim=wide")) {
            UserError e = assertThrows(UserError.class, () -> config("bad", bad), bad);
            String key = bad.substring(0, bad.indexOf('='));
            assertTrue(e.getMessage().contains(key), bad + ": " + e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
        UserError none = assertThrows(UserError.class, () -> config("v", "model.v_dim=1", "slt.density=0.001"));
        assertTrue(none.getMessage().contains("slt.density") && none.getMessage().contains("256 entries"),
                "the narrowed output projection (128 x 2) is the smallest masked tensor: " + none.getMessage());
    }

    @Test
    void theDefaultWidthsSetExplicitlyAreTodaysModelBitForBit() throws IOException {
        Map<String, Object> plainSummary;
        List<float[]> plain;
        try (Trainer t = Trainer.create(config("plain", "train.epochs=1"), false)) {
            plainSummary = t.run();
            plain = TestRuns.trained(t.model());
        }
        Map<String, Object> explicitSummary;
        List<float[]> explicit;
        try (Trainer t = Trainer.create(config("explicit", "train.epochs=1", "model.qk_dim=64", "model.v_dim=64"), false)) {
            explicitSummary = t.run();
            explicit = TestRuns.trained(t.model());
        }
        ResumeTest.assertScoresEqual(plain, explicit, "qk_dim = v_dim = 64 set explicitly");
        assertEquals(TestRuns.withoutTiming(TestRuns.metrics(tmp.resolve("runs/plain"))),
                TestRuns.withoutTiming(TestRuns.metrics(tmp.resolve("runs/explicit"))));
        assertEquals(plainSummary.get("best_val_loss"), explicitSummary.get("best_val_loss"));
    }

    @Test
    void aWidenedRunResumesBitForBitAndItsTicketReproducesItsEvaluation() throws IOException {
        String[] wide = {"model.qk_dim=96", "model.v_dim=40", "train.epochs=1"}; // 6 steps, evaluations at 4 and 6
        List<float[]> baseline;
        try (Trainer t = Trainer.create(config("wide", wide), false)) {
            t.run();
            baseline = TestRuns.trained(t.model());
        }
        try (Trainer t = Trainer.create(config("stopped", wide), false)) {
            t.stopAfter(3);
            t.run();
        }
        Path stopped = tmp.resolve("runs/stopped");
        List<float[]> resumed;
        try (Trainer t = Trainer.resume(stopped, List.of())) {
            t.run();
            resumed = TestRuns.trained(t.model());
        }
        ResumeTest.assertScoresEqual(baseline, resumed, "widened run stopped at 3 and resumed");
        assertEquals(TestRuns.withoutTiming(TestRuns.metrics(tmp.resolve("runs/wide"))),
                TestRuns.withoutTiming(TestRuns.metrics(stopped)));
        UserError refused = assertThrows(UserError.class, () -> Trainer.resume(stopped, List.of("model.qk_dim=64")));
        assertTrue(refused.getMessage().contains("model.qk_dim"), refused.getMessage());

        List<JsonNode> metrics = TestRuns.metrics(tmp.resolve("runs/wide"));
        double last = metrics.stream().filter(l -> l.get("step").asLong() == 6 && l.has("val_loss")).findFirst()
                .orElseThrow().get("val_loss").asDouble();
        Path file = tmp.resolve("wide.ticket");
        try (LoadedModel m = LoadedModel.fromRun(tmp.resolve("runs/wide"), LoadedModel.Which.LATEST, null, List.of())) {
            m.ticket().write(file);
            UserError hf = assertThrows(UserError.class, () -> HfExport.write(m.model(), tmp.resolve("hf")));
            assertTrue(hf.getMessage().contains("model.qk_dim") && hf.getMessage().contains("model.v_dim"), hf.getMessage());
        }
        try (LoadedModel t = LoadedModel.fromTicket(file, List.of())) {
            assertEquals(96, t.model().spec().qkDim());
            assertEquals(40, t.model().spec().vDim());
            assertEquals(last, Evaluation.of(t, Config.Split.VALID, null).loss(), 0.0, "eval --ticket = the run's own");
        }
    }
}
