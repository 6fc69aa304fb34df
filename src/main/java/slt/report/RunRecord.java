package slt.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import slt.UserError;
import slt.checkpoint.RunState;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.model.Flops;
import slt.model.ModelSpec;

/**
 * One run as read from its directory (read only): the resolved config, the numbers of
 * {@code summary.json} when the run finished, and the lines of {@code metrics.jsonl}. An
 * unfinished run (no summary) gets its numbers from the metrics: the best validation loss so far,
 * the steps done, and the training time its lines imply; its parameter counts stay unknown (NaN).
 *
 * @param bestStep step of the best validation loss, -1 when none
 * @param wallS training seconds (validation excluded), as the trainer measures them
 * @param trainFlops from the summary, else {@link Flops} times the tokens trained
 */
public record RunRecord(
        Path dir,
        Config config,
        boolean finished,
        double bestValLoss,
        long bestStep,
        double finalValLoss,
        long steps,
        long tokens,
        double wallS,
        double tokensPerS,
        double trainFlops,
        double paramsNonzero,
        double paramsTotal,
        String device,
        List<Metric> metrics) {

    // The file names slt.train.RunDirectory writes (not imported: the report depends on no training code).
    public static final String CONFIG = "config.yaml";
    public static final String METRICS = "metrics.jsonl";
    public static final String SUMMARY = "summary.json";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    /** One line of metrics.jsonl; absent fields are NaN (validation-only lines have no loss). */
    public record Metric(long step, double loss, double valLoss, double tokensPerS) {
        public boolean hasLoss() {
            return !Double.isNaN(loss);
        }

        public boolean hasValLoss() {
            return !Double.isNaN(valLoss);
        }
    }

    public String name() {
        return dir.getFileName().toString();
    }

    public long seed() {
        return config.train().seed();
    }

    public double bestValPpl() {
        return Math.exp(bestValLoss);
    }

    /** Reads the run in {@code dir} (which holds config.yaml); a damaged config or summary is a UserError. */
    public static RunRecord read(Path dir) {
        Config config = ConfigLoader.loadRecorded(dir.resolve(CONFIG), null).resolved();
        List<Metric> metrics = readMetrics(dir.resolve(METRICS));
        JsonNode summary = readSummary(dir.resolve(SUMMARY));
        return summary != null ? finished(dir, config, summary, metrics) : unfinished(dir, config, metrics);
    }

    /** FLOPs of training {@code tokens} tokens of the run's model (the one formula, {@link Flops}). */
    public static double trainingFlops(Config config, long tokens) {
        return Flops.trainingPerToken(ModelSpec.from(config), config.data().seqLen()) * tokens;
    }

    private static RunRecord finished(Path dir, Config c, JsonNode s, List<Metric> metrics) {
        RunState state = stateOf(dir, s);
        long steps = state.step();
        long tokens = s.has("tokens") ? s.get("tokens").asLong() : tokensOf(c, steps);
        double wall = state.trainingSeconds();
        double tps = s.has("tokens_per_s") ? number(s, "tokens_per_s") : perSecond(tokens, wall);
        double flops = s.has("train_flops") ? number(s, "train_flops") : trainingFlops(c, tokens);
        return new RunRecord(dir, c, true, state.bestValLoss(), state.bestStep(), state.lastValLoss(), steps, tokens,
                wall, tps, flops, number(s, "params_nonzero"), number(s, "params_total"), s.path("device").asText(""),
                metrics);
    }

    /**
     * The run's final state: summary.json's {@code "state"}, read by the checkpoints' own serializer;
     * summaries written before it was there give the same numbers from their flat keys.
     */
    private static RunState stateOf(Path dir, JsonNode s) {
        JsonNode state = s.get("state");
        if (state == null) {
            long steps = s.path("steps").asLong(0);
            return new RunState(steps, 0, steps, number(s, "best_val_loss"), s.path("best_step").asLong(-1),
                    number(s, "final_val_loss"), steps, number(s, "wall_s"), 0, 0, RunState.LossScale.START);
        }
        try {
            return RunState.fromJson(state, state.path("step").asLong(-1));
        } catch (java.io.IOException e) {
            throw new UserError(dir.resolve(SUMMARY) + ": its \"state\" is damaged (" + e.getMessage()
                    + "); move the damaged summary aside to report the run as unfinished", e);
        }
    }

    private static RunRecord unfinished(Path dir, Config c, List<Metric> metrics) {
        double best = Double.NaN;
        long bestStep = -1;
        double last = Double.NaN;
        long steps = 0;
        long previousTrainStep = 0;
        double wall = 0;
        long tokensPerStep = tokensOf(c, 1);
        for (Metric m : metrics) {
            steps = Math.max(steps, m.step());
            if (m.hasValLoss()) {
                last = m.valLoss();
                if (Double.isNaN(best) || m.valLoss() < best) {
                    best = m.valLoss();
                    bestStep = m.step();
                }
            }
            if (m.hasLoss()) { // a training line covers the steps since the previous one
                if (m.tokensPerS() > 0) {
                    wall += (m.step() - previousTrainStep) * tokensPerStep / m.tokensPerS();
                }
                previousTrainStep = m.step();
            }
        }
        long tokens = tokensOf(c, steps);
        double wallS = steps > 0 ? wall : Double.NaN;
        return new RunRecord(dir, c, false, best, bestStep, last, steps, tokens, wallS, perSecond(tokens, wallS),
                trainingFlops(c, tokens), Double.NaN, Double.NaN, "", metrics);
    }

    private static long tokensOf(Config c, long steps) {
        return steps * c.train().batchSize() * c.data().seqLen();
    }

    private static double perSecond(long tokens, double seconds) {
        return seconds > 0 ? tokens / seconds : Double.NaN;
    }

    private static double number(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? Double.NaN : v.asDouble(Double.NaN);
    }

    private static JsonNode readSummary(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new UserError(file + " is not a JSON object: move the damaged summary aside to report the run as unfinished");
            }
            return n;
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + firstLine(e)
                    + " (move the damaged summary aside to report the run as unfinished)");
        }
    }

    /** The lines of metrics.jsonl; a line that does not parse (cut short by a crash) is left out. */
    private static List<Metric> readMetrics(Path file) {
        List<Metric> out = new ArrayList<>();
        if (!Files.isRegularFile(file)) {
            return out;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + firstLine(e) + " (check its permissions)");
        }
        for (String line : lines) {
            try {
                JsonNode n = JSON.readTree(line);
                if (n != null && n.isObject() && n.has("step")) {
                    out.add(new Metric(n.get("step").asLong(), number(n, "loss"), number(n, "val_loss"),
                            number(n, "tokens_per_s")));
                }
            } catch (JsonProcessingException e) {
                // a partial last line after a crash: the lines before it still count
            }
        }
        return out;
    }

    private static String firstLine(Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.lines().findFirst().orElse("");
    }
}
