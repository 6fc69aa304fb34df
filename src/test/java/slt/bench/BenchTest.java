package slt.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import slt.cli.Main;
import slt.config.ConfigLoader;
import slt.model.Flops;
import slt.model.ModelSpec;

/** The benchmark runs the real training step and reports consistent numbers (no timing is asserted). */
class BenchTest {

    @Test
    void benchReportsConsistentNumbersAndEndsWithJson() throws Exception {
        var config = ConfigLoader.load(null, List.of("model.preset=tiny", "data.seq_len=32", "train.batch_size=4",
                "train.micro_batch=2", "run.device=cpu"));
        Bench.Result r = Bench.run(config, 3, 1, new PeakFlops.Peak(1e11, 0));
        assertEquals(3, r.steps());
        assertTrue(r.stepMin() <= r.stepMedian() && r.stepMedian() <= r.stepMax());
        assertEquals(4 * 32 / r.stepMedian(), r.tokensPerS(), 1e-9 * r.tokensPerS());
        double perToken = Flops.trainingPerToken(ModelSpec.from(config.resolved()), 32);
        assertEquals(perToken, r.flopsPerToken());
        assertEquals(perToken * 4 * 32 / r.stepMedian(), r.achievedFlops(), 1e-6 * r.achievedFlops());
        assertEquals(r.achievedFlops() / 1e11, r.mfu(), 1e-12);
        assertEquals(List.of("mask", "data", "forward", "backward", "optimizer"), List.copyOf(r.breakdown().keySet()));
        r.breakdown().values().forEach(v -> assertTrue(v >= 0));
        assertTrue(r.breakdown().get("forward") > 0 && r.breakdown().get("backward") > 0);
        assertTrue(r.maskShare() > 0 && r.maskShare() < 1);
        assertTrue(r.peakRss() >= r.rssEnd() && r.rssEnd() > 0, "peak RSS " + r.peakRss() + " >= current " + r.rssEnd());
        assertEquals(-1, r.deviceUsed(), "no GPU memory on CPU");

        StringWriter out = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "bench",
                "--set", "model.preset=tiny", "--set", "data.seq_len=32", "--set", "train.batch_size=2", "--set", "train.micro_batch=2",
                "--set", "run.device=cpu", "--steps", "2", "--warmup", "0", "--json");
        assertEquals(0, code, out.toString());
        String[] lines = out.toString().trim().split("\n");
        assertTrue(lines[0].contains(Flops.formula()), "states the FLOP formula: " + lines[0]);
        JsonNode j = new ObjectMapper().readTree(lines[lines.length - 1]);
        for (String key : List.of("tokens_per_s", "step_s_median", "mfu", "peak_rss_bytes", "breakdown_s", "peak_flops")) {
            assertTrue(j.has(key), key + " in " + j);
        }
        assertTrue(j.get("peak_flops").asDouble() > 1e8, "a measured peak");
        assertTrue(j.get("rss_at_step_100_bytes").isNull(), "2 steps have no step 100: " + j);
        assertTrue(j.get("device_used_bytes").isNull(), "no device memory on the CPU: " + j);
        assertTrue(j.has("tf32") && !j.get("tf32").asBoolean(), "TF32 never applies on the CPU: " + j);
        assertEquals("fp32", j.get("precision").asText(), "train.precision auto is fp32 on the CPU: " + j);
        assertTrue(j.get("peak_rss_bytes").asLong() > 0);

        StringWriter err = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "bench", "--steps", "0"));
        assertTrue(err.toString().startsWith("error: --steps 0: time at least one step"), err.toString());
    }

    @Test
    void benchProfilesAModelWhoseEmbeddingsAreFrozen() throws Exception {
        // the profiled step waited on the first weight's trainable tensor: null for a frozen (unmasked) embedding
        var config = ConfigLoader.load(null, List.of("model.preset=tiny", "data.seq_len=16", "train.batch_size=2",
                "train.micro_batch=1", "run.device=cpu", "slt.mask_embeddings=false"));
        Bench.Result r = Bench.run(config, 1, 0, new PeakFlops.Peak(1e11, 0));
        assertTrue(r.breakdown().get("backward") > 0 && r.breakdown().get("optimizer") > 0, r.breakdown().toString());
    }
}
