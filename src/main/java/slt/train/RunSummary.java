package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import slt.checkpoint.RunState;
import slt.config.Config;
import slt.model.Flops;
import slt.model.Host;
import slt.model.MaskedBlock;

/**
 * {@code summary.json} of a finished run: its totals, the counts that place it on the paper's
 * Fig. 7 x-axis, and its final {@link RunState} under {@code "state"}, written by the same
 * serializer as a checkpoint's {@code state.json} (the report reads it back with it).
 */
final class RunSummary {
    /** The key of the run's final state in summary.json. */
    static final String STATE = "state";

    private RunSummary() {}

    static Map<String, Object> of(Trainer trainer) {
        Config config = trainer.config();
        RunState state = trainer.state();
        long total = 0;
        long nonzero = 0;
        trainer.model().refreshMasks();
        try (NDScope ignored = new NDScope()) {
            List<NDArray> kept = new ArrayList<>();
            for (MaskedBlock w : trainer.model().weights()) {
                total += w.numel();
                if (w.role() == MaskedBlock.Role.MASKED) {
                    kept.add(w.mask().toType(DataType.BOOLEAN, false).sum()); // int64: exact at any size
                } else {
                    nonzero += w.numel();
                }
            }
            for (double k : Host.stacked(kept)) {
                nonzero += (long) k;
            }
        }
        long tokens = state.step() * config.train().batchSize() * config.data().seqLen();
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("run", config.runName());
        s.put("best_val_loss", state.bestValLoss());
        s.put("best_val_ppl", Math.exp(state.bestValLoss()));
        s.put("best_step", state.bestStep());
        s.put("final_val_loss", state.lastValLoss());
        s.put("final_val_ppl", Math.exp(state.lastValLoss()));
        s.put("steps", state.step());
        s.put("tokens", tokens);
        s.put("wall_s", state.trainingSeconds());
        s.put("tokens_per_s", state.trainingSeconds() > 0 ? tokens / state.trainingSeconds() : 0);
        s.put("train_flops", Flops.trainingPerToken(trainer.model().spec(), config.data().seqLen()) * tokens);
        s.put("params_total", total);
        s.put("params_nonzero", nonzero);
        s.put("qk_scale", config.qkScale());
        s.put("density", config.slt().density());
        s.put("mode", config.slt().mode().name().toLowerCase());
        s.put("preset", config.model().preset().key());
        s.put("width", config.model().width());
        s.put("qk_dim", config.qkDim());
        s.put("v_dim", config.vDim());
        s.put("seed", config.train().seed());
        s.put("device", trainer.device().toString());
        s.put("precision", trainer.precision().name().toLowerCase());
        s.put(STATE, state.toJson());
        return s;
    }
}
