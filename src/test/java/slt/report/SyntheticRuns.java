package slt.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.config.Preset;
import slt.model.Flops;
import slt.model.ModelSpec;

/**
 * Run directories as the trainer writes them, without training: config.yaml (the resolved
 * config), metrics.jsonl (step 0, training lines every 5 steps, validation every 10) and, for a
 * finished run, summary.json with the trainer's keys.
 */
final class SyntheticRuns {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A tiny, short run: 20 steps of 8 x 64 tokens. */
    private static final List<String> BASE = List.of("model.preset=tiny", "data.seq_len=64", "train.epochs=2",
            "train.steps_per_epoch=10", "train.batch_size=8", "train.micro_batch=4", "train.log_every=5");
    static final long STEPS = 20;

    private SyntheticRuns() {}

    /** The resolved config of {@link #BASE} with {@code overrides}. */
    static Config config(String... overrides) {
        List<String> o = new ArrayList<>(BASE);
        o.addAll(List.of(overrides));
        return ConfigLoader.load(null, o).resolved();
    }

    /** A finished run in {@code parent/<run name>} whose best validation loss is {@code best}; returns its directory. */
    static Path finished(Path parent, Config c, double best, double wallS) throws IOException {
        Path dir = started(parent, c, List.of(best + 0.5, best));
        long tokens = STEPS * c.train().batchSize() * c.data().seqLen();
        long total = paramsTotal(c);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("run", c.runName());
        s.put("best_val_loss", best);
        s.put("best_val_ppl", Math.exp(best));
        s.put("best_step", STEPS);
        s.put("final_val_loss", best);
        s.put("final_val_ppl", Math.exp(best));
        s.put("steps", STEPS);
        s.put("tokens", tokens);
        s.put("wall_s", wallS);
        s.put("tokens_per_s", tokens / wallS);
        s.put("train_flops", Flops.trainingPerToken(ModelSpec.from(c), c.data().seqLen()) * tokens);
        s.put("params_total", total);
        s.put("params_nonzero", c.slt().mode() == Config.Mode.DENSE ? total : Math.round(c.slt().density() * total));
        s.put("qk_scale", c.qkScale());
        s.put("density", c.slt().density());
        s.put("mode", c.slt().mode().name().toLowerCase());
        s.put("preset", c.model().preset().key());
        s.put("width", c.model().width());
        s.put("seed", c.train().seed());
        s.put("device", "cpu()");
        Files.write(dir.resolve("summary.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(s));
        return dir;
    }

    /**
     * A run without summary: step 0, then training lines every 5 steps (at 1000 tokens/s) and a
     * validation line every 10 steps with the given losses.
     */
    static Path started(Path parent, Config c, List<Double> valLosses) throws IOException {
        Path dir = parent.resolve(c.runName());
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.yaml"), "# Resolved config\n" + ConfigLoader.toYaml(c));
        StringBuilder m = new StringBuilder(line(Map.of("step", 0, "epoch", 0.0, "val_loss", 10.8, "val_ppl", Math.exp(10.8))));
        for (int i = 0; i < valLosses.size(); i++) {
            long mid = 10L * i + 5;
            long end = 10L * i + 10;
            m.append(line(Map.of("step", mid, "epoch", mid / 10.0, "loss", valLosses.get(i) + 1.0, "lr", 1e-3,
                    "tokens_per_s", 1000.0)));
            m.append(line(Map.of("step", end, "epoch", end / 10.0, "loss", valLosses.get(i) + 0.8, "lr", 1e-3,
                    "tokens_per_s", 1000.0, "val_loss", valLosses.get(i), "val_ppl", Math.exp(valLosses.get(i)))));
        }
        Files.writeString(dir.resolve("metrics.jsonl"), m);
        return dir;
    }

    /** A plausible parameter count (every matrix and both embeddings; no biases). */
    static long paramsTotal(Config c) {
        long d = c.dModel();
        return (long) Preset.VOCAB * d + (long) c.context() * d + 12L * c.model().preset().layers() * d * d;
    }

    private static String line(Map<String, Object> fields) throws IOException {
        return JSON.writeValueAsString(new java.util.TreeMap<>(fields)) + "\n";
    }
}
