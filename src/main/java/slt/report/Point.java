package slt.report;

import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import slt.config.Config;

/**
 * One grid point: the runs whose configs are equal but for the seed and the bookkeeping keys
 * ({@link Aggregation#IGNORED_KEYS}). Statistics are over the runs' values, unknown ones left out.
 *
 * @param id short identifier (p01, p02, ...), in table order
 * @param label what distinguishes the point from the others, e.g. "small slt qk=2.83 k=0.3"
 * @param key the flattened config without the ignored keys (equal for every run of the point)
 * @param config the config of the point's first run
 */
public record Point(String id, String label, Map<String, Object> key, Config config, List<RunRecord> runs) {

    public Stats stats(ToDoubleFunction<RunRecord> value) {
        return Stats.of(runs.stream().mapToDouble(value).toArray());
    }

    /** The mean over the runs of a value (NaN when no run knows it). */
    public double mean(ToDoubleFunction<RunRecord> value) {
        return stats(value).mean();
    }

    public Stats bestValLoss() {
        return stats(RunRecord::bestValLoss);
    }

    public Stats bestValPpl() {
        return stats(RunRecord::bestValPpl);
    }

    public long finished() {
        return runs.stream().filter(RunRecord::finished).count();
    }

    public boolean complete() {
        return finished() == runs.size();
    }

    /** "finished", or "unfinished" when any run has no summary yet. */
    public String status() {
        return complete() ? "finished" : "unfinished";
    }

    public List<Long> seeds() {
        return runs.stream().map(RunRecord::seed).toList();
    }

    public boolean dense() {
        return config.slt().mode() == Config.Mode.DENSE;
    }

    public double qkScale() {
        return config.qkScale();
    }

    /** Per-head query/key dimension n_K ({@code model.qk_dim}, 64 by default). */
    public int qkDim() {
        return config.qkDim();
    }

    /**
     * The Q/K scale as a sweep names it: "auto" when it is qk_dim^(1/4) (recorded configs hold the
     * number), else the number.
     */
    public String qkScaleName() {
        return Math.abs(qkScale() - config.autoQkScale()) < 1e-9 ? "auto" : Format.num(qkScale());
    }

    /** Preset and width, e.g. "mini x0.5": the model size a point belongs to. */
    public String model() {
        return Aggregation.modelName(config);
    }
}
