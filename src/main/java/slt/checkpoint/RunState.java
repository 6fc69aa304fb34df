package slt.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Everything a checkpoint stores about a run besides its tensors: the state a resumed run
 * continues from. Written and read only here ({@code state.json}); a file that lacks a key, holds
 * a value of the wrong type or range, or names another step than its directory is damaged.
 *
 * @param step optimizer steps done
 * @param samplerPosition windows the training sampler has handed out
 * @param optimizerSteps AdamW updates done (its bias correction)
 * @param bestValLoss lowest validation loss so far (+Infinity before the first)
 * @param bestStep the step of {@code bestValLoss} (-1 before the first)
 * @param lastValLoss the latest validation loss (NaN before the first)
 * @param lastValStep its step (-1 before the first)
 * @param trainingSeconds wall time spent in optimizer steps
 * @param lossSinceLog training losses summed since the last metrics line
 * @param stepsSinceLog steps since the last metrics line
 * @param lossScale fp16's dynamic loss scale (train.precision fp16; other precisions leave it at its start)
 */
public record RunState(long step, long samplerPosition, long optimizerSteps, double bestValLoss, long bestStep,
        double lastValLoss, long lastValStep, double trainingSeconds, double lossSinceLog, int stepsSinceLog,
        LossScale lossScale) {

    /**
     * fp16's dynamic loss scaling: the loss is multiplied by {@code scale} before the backward pass
     * (and the gradients divided by it after), so that small fp16 gradients do not flush to zero. A
     * step whose gradients overflow (inf/NaN) is skipped and the scale halved; after
     * {@value #GROWTH_INTERVAL} clean steps in a row it doubles.
     *
     * @param scale the current factor (2^16 at the start)
     * @param cleanSteps steps without overflow since the scale last changed
     * @param skipped steps skipped for overflow since the run began
     */
    public record LossScale(double scale, long cleanSteps, long skipped) {
        public static final int GROWTH_INTERVAL = 2000;
        public static final LossScale START = new LossScale(65536, 0, 0);

        /** After a step whose gradients overflowed: skipped, scale halved. */
        public LossScale afterOverflow() {
            return new LossScale(scale / 2, 0, skipped + 1);
        }

        /** After a clean step: the scale doubles once {@value #GROWTH_INTERVAL} clean steps are reached. */
        public LossScale afterCleanStep() {
            return cleanSteps + 1 >= GROWTH_INTERVAL ? new LossScale(scale * 2, 0, skipped)
                    : new LossScale(scale, cleanSteps + 1, skipped);
        }
    }

    /** The state of a run that has not trained yet. */
    public static RunState start() {
        return new RunState(0, 0, 0, Double.POSITIVE_INFINITY, -1, Double.NaN, -1, 0, 0, 0, LossScale.START);
    }

    /**
     * After one more optimizer step of training loss {@code loss} that took {@code seconds}, with the
     * loss scale it left ({@code lossScale}; the same for precisions other than fp16).
     */
    public RunState afterStep(double loss, double seconds, long samplerPosition, long optimizerSteps, LossScale lossScale) {
        return new RunState(step + 1, samplerPosition, optimizerSteps, bestValLoss, bestStep, lastValLoss, lastValStep,
                trainingSeconds + seconds, lossSinceLog + loss, stepsSinceLog + 1, lossScale);
    }

    /** This state with another loss scale (tests inject an overflow with a huge one). */
    public RunState withLossScale(LossScale s) {
        return new RunState(step, samplerPosition, optimizerSteps, bestValLoss, bestStep, lastValLoss, lastValStep,
                trainingSeconds, lossSinceLog, stepsSinceLog, s);
    }

    /** After a metrics line: the log accumulators start again. */
    public RunState afterLog() {
        return new RunState(step, samplerPosition, optimizerSteps, bestValLoss, bestStep, lastValLoss, lastValStep,
                trainingSeconds, 0, 0, lossScale);
    }

    /** After an evaluation at this step with validation loss {@code valLoss} (a new best if lower). */
    public RunState afterEvaluation(double valLoss) {
        boolean best = valLoss < bestValLoss;
        return new RunState(step, samplerPosition, optimizerSteps, best ? valLoss : bestValLoss, best ? step : bestStep,
                valLoss, step, trainingSeconds, lossSinceLog, stepsSinceLog, lossScale);
    }

    /** Mean training loss since the last metrics line. */
    public double meanLossSinceLog() {
        return lossSinceLog / stepsSinceLog;
    }

    /** As {@code state.json} stores it (key order fixed: equal states give equal files). */
    public ObjectNode toJson() {
        ObjectNode s = JsonNodeFactory.instance.objectNode();
        s.put("sampler_position", samplerPosition);
        s.put("optimizer_steps", optimizerSteps);
        s.put("best_val_loss", bestValLoss);
        s.put("best_step", bestStep);
        s.put("last_val_loss", lastValLoss);
        s.put("last_val_step", lastValStep);
        s.put("training_seconds", trainingSeconds);
        s.put("loss_since_log", lossSinceLog);
        s.put("steps_since_log", stepsSinceLog);
        s.put("loss_scale", lossScale.scale());
        s.put("loss_scale_clean_steps", lossScale.cleanSteps());
        s.put("skipped_steps", lossScale.skipped());
        s.put("rng", "none: weights, scores and data order derive from train.seed; no device RNG is used");
        s.put("step", step);
        return s;
    }

    /**
     * The state in {@code json}, checked key by key; {@code expectedStep} is the step its checkpoint
     * directory names. Anything missing, mistyped or out of range is an IOException naming the key.
     */
    public static RunState fromJson(JsonNode json, long expectedStep) throws IOException {
        if (json == null || !json.isObject()) {
            throw new IOException("not a JSON object");
        }
        long step = whole(json, "step", 0);
        if (step != expectedStep) {
            throw new IOException("'step' is " + step + " but the directory is that of step " + expectedStep);
        }
        RunState s = new RunState(step, whole(json, "sampler_position", 0), whole(json, "optimizer_steps", 0),
                real(json, "best_val_loss"), whole(json, "best_step", -1), real(json, "last_val_loss"),
                whole(json, "last_val_step", -1), real(json, "training_seconds"), real(json, "loss_since_log"),
                Math.toIntExact(whole(json, "steps_since_log", 0)),
                json.has("loss_scale") // checkpoints written before fp16 existed lack it: theirs is the start
                        ? new LossScale(real(json, "loss_scale"), whole(json, "loss_scale_clean_steps", 0),
                                whole(json, "skipped_steps", 0))
                        : LossScale.START);
        if (!(s.lossScale.scale() > 0) || Double.isInfinite(s.lossScale.scale()) || s.lossScale.skipped() > step) {
            throw new IOException("loss scale " + s.lossScale + " is not a positive number with skipped steps <= " + step);
        }
        if (s.optimizerSteps > step || s.bestStep > step || s.lastValStep > step || s.stepsSinceLog > step) {
            throw new IOException("counts beyond its step " + step + " (optimizer_steps " + s.optimizerSteps + ", best_step "
                    + s.bestStep + ", last_val_step " + s.lastValStep + ", steps_since_log " + s.stepsSinceLog + ")");
        }
        return s;
    }

    private static long whole(JsonNode json, String key, long min) throws IOException {
        JsonNode v = json.get(key);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min) {
            throw new IOException(v == null ? "missing '" + key + "'" : "'" + key + "' is " + v + ", not a whole number >= " + min);
        }
        return v.asLong();
    }

    /** A number, or the strings Jackson writes for non-finite doubles ("NaN", "Infinity", "-Infinity"). */
    private static double real(JsonNode json, String key) throws IOException {
        JsonNode v = json.get(key);
        if (v != null && v.isNumber()) {
            return v.asDouble();
        }
        if (v != null && v.isTextual()) {
            switch (v.asText()) {
                case "NaN":
                    return Double.NaN;
                case "Infinity":
                    return Double.POSITIVE_INFINITY;
                case "-Infinity":
                    return Double.NEGATIVE_INFINITY;
                default:
                    break;
            }
        }
        throw new IOException(v == null ? "missing '" + key + "'" : "'" + key + "' is " + v + ", not a number");
    }
}
