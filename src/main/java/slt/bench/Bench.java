package slt.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import slt.config.Config;
import slt.model.Flops;
import slt.model.ModelSpec;
import slt.train.Devices;
import slt.train.StepProfile;
import slt.train.Trainer;

/**
 * Times the training step itself ({@link Trainer#trainStep}, not a copy of it) on random tokens:
 * {@code warmup} steps, then {@code steps} timed steps (each ends with the loss read on the host,
 * which waits for the device), then a few profiled steps that split the time into mask, data,
 * forward, backward and optimizer. Reports FLOP/s with {@link Flops} and MFU against a peak
 * measured on the same device by {@link PeakFlops}.
 */
public final class Bench {
    private Bench() {}

    /** One measurement. */
    public record Result(
            String preset,
            double width,
            String mode,
            int batch,
            int microBatch,
            int seqLen,
            String device,
            int steps,
            double stepMedian,
            double stepMin,
            double stepMax,
            double tokensPerS,
            double flopsPerToken,
            double achievedFlops,
            double peakFlops,
            double mfu,
            Map<String, Double> breakdown,
            double maskShare,
            long rssAfterWarmup,
            long rssAtStep100,
            long rssEnd,
            long peakRss,
            long deviceUsed,
            int replicas,
            String precision) {

        /** The result as a JSON-ready map (snake_case keys). */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("preset", preset);
            m.put("width", width);
            m.put("mode", mode);
            m.put("batch", batch);
            m.put("micro_batch", microBatch);
            m.put("seq_len", seqLen);
            m.put("device", device);
            m.put("precision", precision); // train.precision as resolved for the device
            m.put("steps", steps);
            m.put("step_s_median", stepMedian);
            m.put("step_s_min", stepMin);
            m.put("step_s_max", stepMax);
            m.put("tokens_per_s", tokensPerS);
            m.put("replicas", replicas); // data parallel: the step's micro-batches are shared out over them
            m.put("tokens_per_s_per_replica", tokensPerS / replicas);
            m.put("flops_per_token", flopsPerToken);
            m.put("achieved_flops", achievedFlops);
            m.put("peak_flops", peakFlops);
            m.put("mfu", mfu);
            m.put("breakdown_s", breakdown);
            m.put("mask_share", maskShare);
            m.put("rss_after_warmup_bytes", orNull(rssAfterWarmup));
            m.put("rss_at_step_100_bytes", orNull(rssAtStep100)); // null: fewer than 100 timed steps
            m.put("rss_end_bytes", orNull(rssEnd));
            m.put("peak_rss_bytes", orNull(peakRss));
            m.put("device_used_bytes", orNull(deviceUsed)); // null on the CPU
            m.put("allocator", Devices.allocator());
            m.put("tf32", Devices.tf32() && device.startsWith("gpu")); // fp32 matmuls on TF32 tensor cores
            m.put("flops_formula", Flops.formula());
            return m;
        }
    }

    /** JSON null for a measurement that does not apply (-1). */
    private static Long orNull(long bytes) {
        return bytes < 0 ? null : bytes;
    }

    /** Measures {@code config} ({@code steps} timed after {@code warmup}); {@code peak} null = measure it. */
    public static Result run(Config config, int steps, int warmup, PeakFlops.Peak peak) throws IOException {
        Path scratch = Files.createTempDirectory("slt-bench");
        try (Trainer t = Trainer.forBenchmark(config, scratch)) {
            PeakFlops.Peak p = peak != null ? peak : PeakFlops.measure(t.device());
            Config.Train tr = config.train();
            double lr = tr.lr();
            for (int i = 0; i < warmup; i++) {
                t.trainStep(lr, null);
            }
            long rssWarm = Memory.rssBytes();
            long rss100 = -1;
            long deviceUsed = Memory.deviceUsedBytes(t.device());
            double[] times = new double[steps];
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                t.trainStep(lr, null);
                times[i] = (System.nanoTime() - t0) / 1e9;
                if (i + 1 == 100) {
                    rss100 = Memory.rssBytes();
                }
                deviceUsed = Math.max(deviceUsed, Memory.deviceUsedBytes(t.device()));
            }
            StepProfile profile = new StepProfile();
            for (int i = 0; i < Math.min(3, Math.max(1, steps)); i++) {
                t.trainStep(lr, profile);
            }
            double[] sorted = times.clone();
            Arrays.sort(sorted);
            double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                    : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
            int seq = config.data().seqLen();
            long tokensPerStep = (long) tr.batchSize() * seq;
            double perToken = Flops.trainingPerToken(ModelSpec.from(config.resolved()), seq);
            double achieved = perToken * tokensPerStep / median;
            Map<String, Double> breakdown = profile.secondsPerStep();
            double profiled = breakdown.values().stream().mapToDouble(Double::doubleValue).sum();
            return new Result(config.model().preset().key(), config.model().width(),
                    config.slt().mode().name().toLowerCase(), tr.batchSize(), tr.microBatch(), seq, t.device().toString(),
                    steps, median, sorted[0], sorted[sorted.length - 1], tokensPerStep / median, perToken, achieved,
                    p.flopsPerSecond(), achieved / p.flopsPerSecond(), breakdown, breakdown.get("mask") / profiled,
                    rssWarm, rss100, Memory.rssBytes(), Memory.peakRssBytes(), deviceUsed, config.run().replicas(),
                    t.precision().name().toLowerCase());
        } finally {
            try (Stream<Path> s = Files.walk(scratch)) {
                for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    /** The shapes of {@code slt bench --sweep}: (preset, batch, micro-batch, seq_len). */
    public static List<String[]> sweepShapes(boolean gpu) {
        List<String[]> s = new ArrayList<>();
        if (gpu) { // the paper's shape: 512 sequences of 1024 tokens per optimizer step, by accumulation
            s.add(new String[] {"mini", "512", "16", "1024"});
            s.add(new String[] {"small", "512", "8", "1024"});
            s.add(new String[] {"medium", "512", "4", "1024"});
        } else { // CPU: tiny and mini at several shapes, plus the shapes of the PyTorch reference
            s.add(new String[] {"tiny", "8", "8", "128"});
            s.add(new String[] {"tiny", "16", "16", "128"});
            s.add(new String[] {"tiny", "32", "32", "64"});
            s.add(new String[] {"tiny", "4", "4", "256"});
            s.add(new String[] {"mini", "2", "2", "512"});
            s.add(new String[] {"mini", "4", "4", "128"});
            s.add(new String[] {"small", "4", "4", "128"});
        }
        return s;
    }
}
