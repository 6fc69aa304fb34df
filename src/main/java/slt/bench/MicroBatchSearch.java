package slt.bench;

import ai.djl.Device;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.train.Devices;
import slt.train.Trainer;

/**
 * The largest micro-batch that fits in memory for a config's model and sequence length
 * ({@code slt bench --max-micro-batch}). Each probe is a fresh {@link Trainer} doing two real
 * optimizer steps with {@code batch_size = micro_batch = m} (the second step has the optimizer's
 * moments and a micro-batch's activations alive together, the most a step ever holds), so memory
 * per step is what a run with that micro-batch and any accumulation needs. A probe fails when the
 * engine runs out of memory (on a GPU, libtorch's "CUDA out of memory") or when the memory it used
 * exceeds the limit. The search doubles m until a probe fails, then bisects: 2 log2(answer)
 * probes or fewer, assuming memory grows with m.
 */
public final class MicroBatchSearch {
    private MicroBatchSearch() {}

    /** One probe: whether micro-batch {@code microBatch} fit, what it used and how fast it ran. */
    public record Probe(int microBatch, boolean fits, long memoryBytes, double stepSeconds, double tokensPerS,
            String error) {
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("micro_batch", microBatch);
            m.put("fits", fits);
            m.put("memory_bytes", memoryBytes < 0 ? null : memoryBytes); // null: it ran out before it could be read
            m.put("step_s", fits ? stepSeconds : null);
            m.put("tokens_per_s", fits ? tokensPerS : null);
            m.put("error", error);
            return m;
        }
    }

    /**
     * The outcome: {@code largest} is 0 when not even one sequence fits; {@code usable} is the
     * largest divisor of {@code batchSize} not above it (what {@code train.micro_batch} may be).
     */
    public record Result(String preset, int seqLen, String device, String memoryKind, long limitBytes, int cap,
            int batchSize, int largest, int usable, List<Probe> probes) {
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("preset", preset);
            m.put("seq_len", seqLen);
            m.put("device", device);
            m.put("memory", memoryKind);
            m.put("limit_bytes", limitBytes);
            m.put("cap", cap);
            m.put("batch_size", batchSize);
            m.put("largest_micro_batch", largest);
            m.put("usable_micro_batch", usable);
            m.put("probes", probes.stream().map(Probe::toMap).toList());
            return m;
        }
    }

    /**
     * The largest m in [1, cap] for which {@code probe} fits, by doubling then bisection, given
     * that fitting is monotone (if m fits, every smaller m fits). Returns 0 when 1 does not fit.
     * Each probe is appended to {@code log} in the order run.
     */
    static int largest(int cap, IntFunction<Probe> probe, List<Probe> log) {
        int ok = 0;
        int bad = cap + 1;
        for (int m = 1; ok < cap; m = Math.min(2 * m, cap)) { // doubling
            Probe p = probe.apply(m);
            log.add(p);
            if (!p.fits()) {
                bad = m;
                break;
            }
            ok = m;
        }
        while (bad - ok > 1) { // bisection: ok fits, bad does not
            int m = ok + (bad - ok) / 2;
            Probe p = probe.apply(m);
            log.add(p);
            if (p.fits()) {
                ok = m;
            } else {
                bad = m;
            }
        }
        return ok;
    }

    /** The largest divisor of {@code batch} that is at most {@code m} (0 when m is 0). */
    static int largestDivisor(int batch, int m) {
        for (int d = Math.min(m, batch); d >= 1; d--) {
            if (batch % d == 0) {
                return d;
            }
        }
        return 0;
    }

    /**
     * Searches micro-batches 1..{@code cap} for {@code config}'s model at its sequence length.
     * {@code limitBytes} &lt;= 0 means: on a GPU, only running out of memory fails a probe; on
     * the CPU a limit is required (the process would be killed before libtorch reported it).
     */
    public static Result run(Config config, int cap, long limitBytes, Consumer<Probe> onProbe) {
        Config base = config.resolved();
        boolean gpu = Devices.resolve(base.run().device()).isGpu();
        checkLimit(gpu, limitBytes);
        List<Probe> probes = new ArrayList<>();
        int seq = base.data().seqLen();
        int largest = largest(cap, predictFirst(m -> probe(config, m, limitBytes), limitBytes, probes, onProbe), probes);
        return new Result(base.model().preset().key(), seq, gpu ? "gpu" : "cpu",
                gpu ? "device memory in use (cudaMemGetInfo)" : "peak process RSS", limitBytes, cap,
                base.train().batchSize(), largest, largestDivisor(base.train().batchSize(), largest), probes);
    }

    /** Refuses a CPU search without a limit, or with one the machine does not have. */
    public static void checkLimit(boolean gpu, long limitBytes) {
        if (gpu) {
            return;
        }
        if (limitBytes <= 0) {
            throw new IllegalArgumentException("a micro-batch search on the CPU needs a memory limit: the process "
                    + "would be killed before libtorch reported running out");
        }
        long ram = Memory.physicalBytes();
        if (ram > 0 && limitBytes > 0.9 * ram) {
            throw new IllegalArgumentException("memory limit " + size(limitBytes) + " is more than 90 % of this machine's memory ("
                    + size(ram) + "): a probe that large would get the process killed; give at most " + size((long) (0.9 * ram)));
        }
    }

    /** A probe whose predicted memory is this far over the limit is not run. */
    static final double SKIP_ABOVE = 1.25;

    /**
     * {@code real}, except that with a limit, once two probes have been measured, a micro-batch
     * whose memory a straight-line fit (memory = fixed + per-sequence x m) puts over
     * {@link #SKIP_ABOVE} x the limit is judged by that prediction instead of being run: on the
     * CPU running it could exhaust the machine (the kernel kills the process first), on a GPU it
     * only costs time. Near the limit, probes are always run.
     */
    static IntFunction<Probe> predictFirst(IntFunction<Probe> real, long limitBytes, List<Probe> log, Consumer<Probe> onProbe) {
        return m -> {
            double predicted = predict(log, m);
            Probe p = limitBytes > 0 && predicted > SKIP_ABOVE * limitBytes
                    ? new Probe(m, false, (long) predicted, Double.NaN, Double.NaN,
                            "predicted " + size((long) predicted) + " > limit " + size(limitBytes) + " (not run)")
                    : real.apply(m);
            onProbe.accept(p);
            return p;
        };
    }

    /** Least-squares line through the measured probes' memory, at {@code m}; NaN with fewer than two. */
    static double predict(List<Probe> measured, int m) {
        double n = 0;
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        for (Probe p : measured) {
            if (p.memoryBytes() > 0 && !Double.isNaN(p.stepSeconds())) { // measured, not out of memory or predicted
                n++;
                sx += p.microBatch();
                sy += p.memoryBytes();
                sxx += (double) p.microBatch() * p.microBatch();
                sxy += (double) p.microBatch() * p.memoryBytes();
            }
        }
        double det = n * sxx - sx * sx;
        if (n < 2 || det == 0) {
            return Double.NaN;
        }
        double slope = (n * sxy - sx * sy) / det;
        return (sy - slope * sx) / n + slope * m;
    }

    /** One probe of micro-batch {@code m}, measured from a clean start (caches and freed memory released). */
    static Probe probe(Config config, int m, long limitBytes) {
        Config c = ConfigLoader.loadText(ConfigLoader.toYaml(config), "bench --max-micro-batch",
                List.of("train.batch_size=" + m, "train.micro_batch=" + m));
        Path scratch;
        try {
            scratch = Files.createTempDirectory("slt-fit");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Device device = Devices.resolve(c.run().device());
        Memory.emptyDeviceCache(device); // what the previous probe left cached is not this probe's
        Memory.releaseFreedNative();
        Memory.resetPeakRss();
        try (Trainer t = Trainer.forBenchmark(c, scratch)) {
            t.trainStep(c.train().lr(), null); // creates the optimizer's moments
            long t0 = System.nanoTime();
            t.trainStep(c.train().lr(), null); // moments and activations alive together
            double s = (System.nanoTime() - t0) / 1e9;
            long used = device.isGpu() ? Memory.deviceUsedBytes(device) : Memory.peakRssBytes();
            boolean fits = limitBytes <= 0 || used <= limitBytes;
            return new Probe(m, fits, used, s, (double) m * c.data().seqLen() / s, fits ? null
                    : "used " + size(used) + " > limit " + size(limitBytes));
        } catch (RuntimeException e) {
            if (!isOutOfMemory(e)) {
                throw e;
            }
            return new Probe(m, false, -1, Double.NaN, Double.NaN, firstLine(e));
        } finally {
            try {
                Files.deleteIfExists(scratch);
            } catch (IOException ignored) {
                // an empty temp directory left behind is harmless
            }
            Memory.emptyDeviceCache(device);
        }
    }

    /** Bytes as "12.34 GB" (or "850 MB" below a gigabyte), decimal units. */
    public static String size(long bytes) {
        return bytes >= 1e9 ? String.format(Locale.ROOT, "%.2f GB", bytes / 1e9)
                : String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
    }

    /** Whether {@code e} (or a cause) is the engine running out of memory, on a GPU or the CPU. */
    static boolean isOutOfMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String msg = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
            if (msg.contains("out of memory") || msg.contains("can't allocate memory")) {
                return true;
            }
        }
        return false;
    }

    private static String firstLine(Throwable e) {
        String msg = String.valueOf(e.getMessage()).strip();
        int nl = msg.indexOf('\n');
        return nl < 0 ? msg : msg.substring(0, nl);
    }
}
