package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.config.ConfigLoader;
import slt.model.Host;
import slt.model.MaskedBlock;
import slt.tensorboard.TensorBoardLog;

/**
 * TensorBoard event files in {@code <run>/tb/} ({@code train.tensorboard}): the points of
 * metrics.jsonl ({@code train/loss}, {@code train/lr}, {@code train/tokens_per_s}, {@code val/loss},
 * {@code val/ppl}), and per evaluation the mean kept-score magnitude ({@code mask/kept_score_mean})
 * and the fraction of the mask that changed since the previous evaluation of this process
 * ({@code mask/changed_fraction}); the resolved config as text. A resumed run opens a new file in
 * which the points after its checkpoint are superseded ({@link TensorBoardLog}). A side job: if
 * its files cannot be written, the run goes on without them (metrics.jsonl has every point).
 */
final class TensorBoardListener implements TrainingListener, AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(TensorBoardListener.class);
    private TensorBoardLog log;
    private List<NDArray> previousMasks; // at the previous evaluation, for the changed fraction

    @Override
    public void onRunStart(Trainer trainer) {
        long step = trainer.step();
        try {
            log = TensorBoardLog.open(trainer.runDirectory().path(), step);
            log.notes().forEach(n -> LOG.warn("TensorBoard: {}", n));
            log.text("config", step == 0 ? 0 : step + 1, ConfigLoader.toYaml(trainer.config()));
        } catch (IOException e) {
            giveUp(e);
        }
    }

    @Override
    public void onStepEnd(Trainer trainer, StepEnd end) {
        if (log == null || end.line() == null) {
            return;
        }
        Map<String, Double> points = new LinkedHashMap<>();
        if (!end.initial()) {
            points.put("train/loss", (Double) end.line().get("loss"));
            points.put("train/lr", end.lr());
            points.put("train/tokens_per_s", (Double) end.line().get("tokens_per_s"));
            if (end.line().get("loss_scale") instanceof Double scale) { // fp16 only
                points.put("train/loss_scale", scale);
                points.put("train/skipped_steps", ((Long) end.line().get("skipped_steps")).doubleValue());
            }
        }
        if (end.evaluated()) {
            points.put("val/loss", end.valLoss());
            points.put("val/ppl", Math.exp(end.valLoss()));
            maskPoints(trainer, points);
        }
        try {
            log.scalars(end.step(), points);
            if (end.evaluated()) {
                log.flush();
            }
        } catch (IOException e) {
            giveUp(e);
        }
    }

    /** Mean |score| of the kept weights, and the fraction of mask entries that flipped since the last evaluation. */
    private void maskPoints(Trainer trainer, Map<String, Double> points) {
        List<MaskedBlock> masked = trainer.model().weights().stream()
                .filter(w -> w.role() == MaskedBlock.Role.MASKED).toList();
        if (masked.isEmpty()) {
            return; // dense: no mask
        }
        List<NDArray> now = new ArrayList<>();
        try (NDScope ignored = new NDScope()) { // the masks are current: the evaluation refreshed them
            List<NDArray> sums = new ArrayList<>();
            long entries = 0;
            for (MaskedBlock w : masked) {
                NDArray mask = w.mask();
                sums.add(w.scores().getArray().abs().mul(mask).sum().toType(DataType.FLOAT64, false));
                sums.add(mask.sum().toType(DataType.FLOAT64, false));
                if (previousMasks != null) {
                    sums.add(mask.logicalXor(previousMasks.get(now.size())).sum().toType(DataType.FLOAT64, false));
                }
                NDArray copy = mask.duplicate();
                NDScope.unregister(copy);
                now.add(copy);
                entries += w.numel();
            }
            double[] v = Host.stacked(sums);
            int per = previousMasks != null ? 3 : 2;
            double scoreSum = 0;
            double kept = 0;
            double changed = 0;
            for (int i = 0; i < masked.size(); i++) {
                scoreSum += v[per * i];
                kept += v[per * i + 1];
                changed += previousMasks != null ? v[per * i + 2] : 0;
            }
            points.put("mask/kept_score_mean", kept > 0 ? scoreSum / kept : Double.NaN);
            if (previousMasks != null) {
                points.put("mask/changed_fraction", changed / entries);
            }
        }
        closeMasks();
        previousMasks = now;
    }

    private void giveUp(IOException e) {
        LOG.warn("TensorBoard files cannot be written ({}): the run goes on without them; metrics.jsonl has every point",
                e.getMessage());
        try {
            if (log != null) {
                log.close();
            }
        } catch (IOException ignored) {
            // already reported
        }
        log = null;
    }

    private void closeMasks() {
        if (previousMasks != null) {
            previousMasks.forEach(NDArray::close);
            previousMasks = null;
        }
    }

    @Override
    public void close() {
        closeMasks();
        if (log != null) {
            try {
                log.close();
            } catch (IOException e) {
                LOG.warn("TensorBoard: closing {} failed ({})", log.file(), e.getMessage());
            }
            log = null;
        }
    }
}
