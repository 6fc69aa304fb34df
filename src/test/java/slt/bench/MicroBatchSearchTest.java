package slt.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import slt.cli.Main;
import slt.config.Config;
import slt.config.ConfigLoader;

/** {@code slt bench --max-micro-batch}: the search, the out-of-memory test, and the command on CPU. */
class MicroBatchSearchTest {

    private static MicroBatchSearch.Probe probe(int m, boolean fits) {
        return new MicroBatchSearch.Probe(m, fits, 1000L * m, 0.1, 10.0 * m, fits ? null : "too big");
    }

    @Test
    void findsTheBoundaryOfEveryMonotonePredicateWithFewProbes() {
        for (int cap = 1; cap <= 70; cap++) {
            for (int boundary = 0; boundary <= cap; boundary++) {
                final int b = boundary;
                List<MicroBatchSearch.Probe> log = new ArrayList<>();
                int found = MicroBatchSearch.largest(cap, m -> probe(m, m <= b), log);
                assertEquals(b, found, "cap " + cap + ", largest fitting " + b);
                Set<Integer> seen = new HashSet<>();
                for (MicroBatchSearch.Probe p : log) {
                    assertTrue(p.microBatch() >= 1 && p.microBatch() <= cap, "probe " + p.microBatch() + " within 1.." + cap);
                    assertTrue(seen.add(p.microBatch()), "probed " + p.microBatch() + " twice (cap " + cap + ")");
                }
                int bound = 2 * (32 - Integer.numberOfLeadingZeros(cap)) + 1;
                assertTrue(log.size() <= bound, log.size() + " probes for cap " + cap + " > " + bound);
                if (b >= 1) {
                    assertTrue(seen.contains(b), "the answer was probed and fit");
                }
                if (b < cap) {
                    assertTrue(seen.contains(b + 1), "the next size up was probed and failed");
                }
            }
        }
    }

    @Test
    void probesPredictedFarOverTheLimitAreNotRunAndTheAnswerIsStillExact() {
        long gb = 1_000_000_000L;
        List<Integer> ran = new ArrayList<>();
        List<MicroBatchSearch.Probe> log = new ArrayList<>();
        long limit = 10 * gb;
        // memory = 1 GB + 1 GB per sequence: 9 fits exactly under 10 GB
        int found = MicroBatchSearch.largest(64, MicroBatchSearch.predictFirst(m -> {
            ran.add(m);
            long used = (1 + m) * gb;
            return new MicroBatchSearch.Probe(m, used <= limit, used, 0.1, 1.0, used <= limit ? null : "over");
        }, limit, log, p -> { }), log);
        assertEquals(9, found);
        assertEquals(List.of(1, 2, 4, 8, 10, 9), ran, "16 (17 GB) and 12 (13 GB) were predicted over 12.5 GB, not run");
        MicroBatchSearch.Probe skipped = log.stream().filter(p -> p.microBatch() == 16).findFirst().orElseThrow();
        assertFalse(skipped.fits());
        assertEquals(17 * gb, skipped.memoryBytes(), gb / 1000);
        assertTrue(skipped.error().endsWith("(not run)"), skipped.error());
        assertEquals(Double.NaN, MicroBatchSearch.predict(log.subList(0, 1), 5), "one point predicts nothing");
    }

    @Test
    void usableMicroBatchIsTheLargestDivisorOfTheBatchNotAboveTheLargest() {
        assertEquals(64, MicroBatchSearch.largestDivisor(512, 100));
        assertEquals(512, MicroBatchSearch.largestDivisor(512, 600));
        assertEquals(4, MicroBatchSearch.largestDivisor(12, 5));
        assertEquals(1, MicroBatchSearch.largestDivisor(7, 6));
        assertEquals(0, MicroBatchSearch.largestDivisor(512, 0));
    }

    @Test
    void recognisesTheEnginesOwnOutOfMemoryError() {
        // 2^46 floats = 256 TiB: more than a process's address space, so libtorch's allocator must refuse
        EngineException real;
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            real = assertThrows(EngineException.class, () -> m.create(new Shape(1L << 46)).getFloat(0));
        }
        assertTrue(MicroBatchSearch.isOutOfMemory(real), "libtorch's message: " + real.getMessage());
        assertTrue(MicroBatchSearch.isOutOfMemory(new RuntimeException("wrapped",
                new EngineException("CUDA out of memory. Tried to allocate 3.00 GiB (GPU 0; 79.11 GiB total capacity)"))));
        assertFalse(MicroBatchSearch.isOutOfMemory(new EngineException("shape mismatch: [2, 3] and [4, 5]")));
        assertFalse(MicroBatchSearch.isOutOfMemory(new IllegalStateException((String) null)));
    }

    @Test
    void aProbeMeasuresItsOwnPeakEvenAfterALargerOne() {
        // logits alone are micro x 256 x 50257 floats: ~400 MB at 8, ~100 MB at 2, so the peaks differ by far more than noise
        Config c = ConfigLoader.load(null, List.of("model.preset=tiny", "data.seq_len=256", "model.context=256", "run.device=cpu"));
        MicroBatchSearch.Probe big = MicroBatchSearch.probe(c, 8, 0);
        MicroBatchSearch.Probe small = MicroBatchSearch.probe(c, 2, 0);
        MicroBatchSearch.Probe bigAgain = MicroBatchSearch.probe(c, 8, 0);
        assertTrue(big.fits() && small.fits() && bigAgain.fits());
        assertTrue(small.memoryBytes() < big.memoryBytes() - 300_000_000L,
                "micro-batch 2 after 8 measured " + small.memoryBytes() + " vs " + big.memoryBytes());
        assertEquals(big.memoryBytes(), bigAgain.memoryBytes(), 0.15 * big.memoryBytes(), "the same probe twice");
        System.out.printf("peak RSS of micro-batch 8, 2, 8 (tiny, 256 tokens): %d, %d, %d MB%n", big.memoryBytes() >> 20,
                small.memoryBytes() >> 20, bigAgain.memoryBytes() >> 20);
    }

    private record Run(int code, String out, String err) {
        /** The JSON object bench prints as its last line. */
        JsonNode lastJson() throws Exception {
            String[] lines = out.trim().split("\n");
            return new ObjectMapper().readTree(lines[lines.length - 1]);
        }
    }

    private static Run bench(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of("bench", "--set", "model.preset=tiny", "--set", "data.seq_len=32",
                "--set", "run.device=cpu"));
        all.addAll(List.of(args));
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void onCpuEveryMicroBatchUpToTheBatchFitsUnderALargeLimit() throws Exception {
        Run r = bench("--set", "train.batch_size=6", "--set", "train.micro_batch=6", "--max-micro-batch",
                "--memory-limit", "16GB", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = r.lastJson();
        assertEquals(6, j.get("largest_micro_batch").asInt(), r.out());
        assertEquals(6, j.get("usable_micro_batch").asInt());
        assertEquals(16e9, j.get("limit_bytes").asDouble());
        List<Integer> probed = new ArrayList<>();
        for (JsonNode p : j.get("probes")) {
            probed.add(p.get("micro_batch").asInt());
            assertTrue(p.get("fits").asBoolean());
            assertTrue(p.get("memory_bytes").asLong() > 10_000_000L, "a real peak RSS: " + p);
            assertEquals(p.get("micro_batch").asInt() * 32 / p.get("step_s").asDouble(), p.get("tokens_per_s").asDouble(),
                    1e-6 * p.get("tokens_per_s").asDouble());
        }
        assertEquals(List.of(1, 2, 4, 6), probed);
        assertTrue(r.out().contains("largest micro-batch that fits: 6"), r.out());
    }

    @Test
    void onCpuNothingFitsUnderATinyLimit() throws Exception {
        Run r = bench("--set", "train.batch_size=4", "--set", "train.micro_batch=2", "--max-micro-batch",
                "--memory-limit", "1MB", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = r.lastJson();
        assertEquals(0, j.get("largest_micro_batch").asInt());
        assertEquals(1, j.get("probes").size(), "stops after micro-batch 1 failed");
        JsonNode p = j.get("probes").get(0);
        assertFalse(p.get("fits").asBoolean());
        assertTrue(p.get("memory_bytes").asLong() > 1_000_000L);
        assertTrue(p.get("error").asText().contains("> limit 1 MB"), p.toString());
        assertTrue(p.get("step_s").isNull());
    }

    @Test
    void badRequestsAreOneLineErrors() {
        Run noLimit = bench("--max-micro-batch");
        assertEquals(2, noLimit.code());
        assertTrue(noLimit.err().contains("needs --memory-limit"), noLimit.err());
        Run badSize = bench("--max-micro-batch", "--memory-limit", "lots");
        assertEquals(2, badSize.code());
        assertTrue(badSize.err().contains("--memory-limit lots is not a positive size"), badSize.err());
        Run huge = bench("--max-micro-batch", "--memory-limit", "1000TB");
        assertEquals(2, huge.code());
        assertTrue(huge.err().contains("more than 90 % of this machine's memory"), huge.err());
        Run stray = bench("--memory-limit", "2GB");
        assertEquals(2, stray.code());
        assertTrue(stray.err().contains("only to --max-micro-batch"), stray.err());
        for (Run r : List.of(noLimit, badSize, huge, stray)) {
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertEquals("", r.out());
        }
        assertNotEquals(0, bench("--max-micro-batch", "--memory-limit", "0GB").code());
    }
}
