package slt.cli;

import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import slt.UserError;
import slt.bench.Bench;
import slt.bench.MicroBatchSearch;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.config.Preset;
import slt.model.Flops;
import slt.train.Devices;

/** {@code slt bench}: how fast the training step runs, where its time goes, and MFU. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time optimizer steps and report tokens/s, a breakdown, memory and MFU.",
            "Runs a config's training step on random tokens and prints step times, tokens/s, where the time goes,",
            "memory, achieved FLOP/s and MFU against a fp32 matmul peak measured on the same device; or, with",
            "--max-micro-batch, the largest micro-batch that fits in memory."})
final class BenchCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "run config to time (default: the built-in defaults)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (repeatable)")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--sweep", description = "tiny/mini/small at several shapes on CPU, or mini/small/medium at the paper's shape on GPU")
    boolean sweep;

    @Option(names = "--steps", defaultValue = "10", description = "timed optimizer steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--warmup", defaultValue = "3", description = "untimed steps first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--json", description = "end with one line of JSON holding every number")
    boolean json;

    @Option(names = "--max-micro-batch", description = {"instead of timing, find the largest micro-batch that fits in memory",
        "(up to train.batch_size) by doubling then bisecting; each probe runs two real optimizer steps"})
    boolean maxMicroBatch;

    @Option(names = "--memory-limit", paramLabel = "SIZE", description = {"with --max-micro-batch: a probe using more than",
        "SIZE (e.g. 40GB, 16GiB, 800MB) does not fit; required on CPU, optional on a GPU (running out fails a probe)"})
    String memoryLimit;

    @Override
    public Integer call() throws Exception {
        if (steps < 1) {
            throw new UserError("--steps " + steps + ": time at least one step (default 10)");
        }
        if (warmup < 0) {
            throw new UserError("--warmup " + warmup + ": give 0 or more untimed steps (default 3)");
        }
        if (memoryLimit != null && !maxMicroBatch) {
            throw new UserError("--memory-limit applies only to --max-micro-batch: add --max-micro-batch or drop it");
        }
        PrintWriter out = spec.commandLine().getOut();
        List<Config> configs = new ArrayList<>();
        if (sweep) {
            Config probe = ConfigLoader.load(config, with(overrides, "model.preset=tiny", "data.seq_len=128"));
            Devices.configureThreads(probe.run().threads());
            boolean gpu = Devices.resolve(probe.run().device()).isGpu();
            for (String[] shape : Bench.sweepShapes(gpu)) {
                Preset p = Preset.valueOf(shape[0].toUpperCase());
                int seq = Integer.parseInt(shape[3]);
                configs.add(ConfigLoader.load(config, with(overrides, "model.preset=" + shape[0],
                        "train.batch_size=" + shape[1], "train.micro_batch=" + shape[2], "data.seq_len=" + seq,
                        "model.context=" + Math.max(seq, p.context()))));
            }
        } else {
            configs.add(ConfigLoader.load(config, overrides));
        }
        if (maxMicroBatch) {
            return fit(out, configs);
        }
        out.println("FLOPs: " + Flops.formula() + "; MFU against a measured fp32 matmul peak on the same device");
        out.println("batch(micro) x seq; step times of the timed steps; breakdown and mask share from up to 3 further "
                + "steps with every phase synchronised (so their sum exceeds a plain step)");
        out.printf("%-7s %5s %13s %-7s %9s %9s %9s %10s %9s %6s  %-40s %6s %9s%n", "preset", "width", "batch x seq",
                "device", "step med", "min", "max", "tokens/s", "TFLOP/s", "MFU", "breakdown (mask/data/fwd/bwd/opt[/reduce])", "mask",
                "peak RSS");
        List<Map<String, Object>> results = new ArrayList<>();
        for (Config c : configs) {
            Bench.Result r = Bench.run(c, steps, warmup, null);
            Map<String, Double> b = r.breakdown();
            double total = b.values().stream().mapToDouble(Double::doubleValue).sum();
            StringBuilder shares = new StringBuilder();
            for (double v : b.values()) {
                shares.append(shares.length() == 0 ? "" : "/").append(String.format("%.0f%%", 100 * v / total));
            }
            out.printf("%-7s %5s %13s %-7s %8.3fs %8.3fs %8.3fs %10.0f %9.3f %5.1f%%  %-40s %5.1f%% %8.0fM%n", r.preset(),
                    r.width(), r.batch() + "(" + r.microBatch() + ")x" + r.seqLen(), r.device(), r.stepMedian(), r.stepMin(),
                    r.stepMax(), r.tokensPerS(), r.achievedFlops() / 1e12, 100 * r.mfu(), shares, 100 * r.maskShare(),
                    r.peakRss() / 1e6);
            if (!r.precision().equals("fp32")) {
                out.printf("        precision %s: matrix products %s (MFU against the fp32 peak)%n", r.precision(),
                        r.precision().equals("tf32") ? "in fp32 on TF32 tensor cores where the device has them" : "in 16 bits");
            }
            if (r.replicas() > 1) {
                out.printf("        %d replicas: %.0f tokens/s each; summing their gradients and copying the scores back: "
                        + "%.3f s per step%n", r.replicas(), r.tokensPerS() / r.replicas(), b.getOrDefault("reduce", 0.0));
            }
            out.flush();
            results.add(r.toMap());
        }
        out.printf("peak: %.1f GFLOP/s fp32 matmul%s; engine %s %s; allocator %s%n",
                (Double) results.get(0).get("peak_flops") / 1e9,
                Boolean.TRUE.equals(results.get(0).get("tf32")) ? " (TF32 on: peak and steps both use it)" : "",
                Engine.getInstance().getEngineName(), Engine.getInstance().getVersion(), results.get(0).get("allocator"));
        printJson(out, results);
        return 0;
    }

    private int fit(PrintWriter out, List<Config> configs) throws Exception {
        long limit = memoryLimit == null ? 0 : parseSize(memoryLimit);
        List<Map<String, Object>> results = new ArrayList<>();
        for (Config c : configs) {
            boolean gpu = Devices.resolve(c.run().device()).isGpu();
            if (!gpu && limit <= 0) {
                throw new UserError("--max-micro-batch on the CPU needs --memory-limit SIZE (e.g. 16GB): the process "
                        + "would be killed before libtorch reported running out");
            }
            try {
                MicroBatchSearch.checkLimit(gpu, limit);
            } catch (IllegalArgumentException e) {
                throw new UserError("--memory-limit: " + e.getMessage(), e);
            }
            int cap = c.train().batchSize();
            out.printf("%s, sequence %d: micro-batches up to %d, two optimizer steps each%s%n", c.model().preset().key(),
                    c.data().seqLen(), cap, limit > 0 ? ", limit " + MicroBatchSearch.size(limit) : "");
            out.flush();
            MicroBatchSearch.Result r = MicroBatchSearch.run(c, cap, limit, p -> {
                out.printf("  micro-batch %4d: %s%n", p.microBatch(), p.fits()
                        ? String.format("fits, %s (%s), step %.3f s, %.0f tokens/s", MicroBatchSearch.size(p.memoryBytes()),
                                gpu ? "device" : "peak RSS", p.stepSeconds(),
                                p.tokensPerS())
                        : "does not fit: " + p.error());
                out.flush();
            });
            out.printf("largest micro-batch that fits: %d; as train.micro_batch with batch_size %d: %d%n", r.largest(),
                    r.batchSize(), r.usable());
            results.add(r.toMap());
        }
        printJson(out, results);
        return 0;
    }

    /** With --json, the last line: one result, or {"results": [...]} for several. */
    private void printJson(PrintWriter out, List<Map<String, Object>> results) throws Exception {
        if (json) {
            Map<String, Object> j = results.size() == 1 ? results.get(0) : new LinkedHashMap<>(Map.of("results", results));
            out.println(new ObjectMapper().writeValueAsString(j));
        }
    }

    /** Bytes in "40GB", "16GiB", "800MB", "1.5G", "123456" (decimal units; "iB" units are powers of 1024). */
    static long parseSize(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([kmgt]?)(i?)b?\\s*")
                .matcher(text);
        if (!m.matches() || Double.parseDouble(m.group(1)) <= 0) {
            throw new UserError("--memory-limit " + text + " is not a positive size: write it like 40GB, 16GiB or 800MB");
        }
        double base = m.group(3).isEmpty() ? 1000 : 1024;
        int power = m.group(2).isEmpty() ? 0 : "kmgt".indexOf(m.group(2).toLowerCase(java.util.Locale.ROOT)) + 1;
        return (long) (Double.parseDouble(m.group(1)) * Math.pow(base, power));
    }

    private static List<String> with(List<String> base, String... more) {
        List<String> l = new ArrayList<>(List.of(more));
        l.addAll(base); // the user's --set wins
        return l;
    }
}
