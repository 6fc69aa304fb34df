package slt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.config.Config;
import slt.model.Flops;
import slt.model.ModelSpec;

/** Grouping runs into points, statistics over seeds, unfinished runs and the dense baseline. */
class AggregationTest {
    @TempDir
    Path tmp;

    private static List<RunRecord> read(List<Path> dirs) {
        return dirs.stream().map(RunRecord::read).toList();
    }

    @Test
    void groupsIgnoreTheSeedAndWhereARunRan() throws IOException {
        List<Path> dirs = new ArrayList<>();
        dirs.add(SyntheticRuns.finished(tmp.resolve("a"), SyntheticRuns.config("train.seed=1", "run.device=cpu"), 4.0, 10));
        dirs.add(SyntheticRuns.finished(tmp.resolve("b"), SyntheticRuns.config("train.seed=2", "run.device=gpu",
                "run.threads=4", "data.path=/elsewhere", "data.cache_dir=/tmp/c", "run.name=other", "train.micro_batch=2"), 4.2, 10));
        dirs.add(SyntheticRuns.finished(tmp.resolve("a"), SyntheticRuns.config("train.seed=3", "slt.qk_scale=2"), 3.9, 10));
        dirs.add(SyntheticRuns.finished(tmp.resolve("c"), SyntheticRuns.config("train.seed=4", "model.context=128"), 4.1, 10));
        Aggregation agg = Aggregation.of(read(dirs));

        assertEquals(2, agg.points().size(), "qk_scale separates points, the seed and bookkeeping do not");
        Point qk1 = agg.points().get(0);
        assertEquals(List.of(1L, 2L, 4L), qk1.seeds(), "tiny's own 128 positions, explicit or not, are one model");
        assertEquals(1.0, qk1.qkScale());
        assertEquals(List.of(3L), agg.points().get(1).seeds());
        assertEquals(List.of("slt.qk_scale"), agg.varyingKeys());
        assertEquals("p1", qk1.id());
        assertEquals("tiny slt qk=1 k=0.3", qk1.label());
    }

    @Test
    void meanAndSampleStdOverSeeds() throws IOException {
        double[] losses = {3.1, 3.3, 3.6};
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < losses.length; i++) {
            dirs.add(SyntheticRuns.finished(tmp, SyntheticRuns.config("train.seed=" + (i + 1)), losses[i], 100 + i));
        }
        Point p = Aggregation.of(read(dirs)).points().get(0);

        // independently: mean 10/3, sample variance sum((x - mean)^2) / (n - 1)
        assertEquals(10.0 / 3, p.bestValLoss().mean(), 1e-12);
        assertEquals(Math.sqrt((Math.pow(3.1 - 10.0 / 3, 2) + Math.pow(3.3 - 10.0 / 3, 2) + Math.pow(3.6 - 10.0 / 3, 2)) / 2),
                p.bestValLoss().std(), 1e-12);
        assertEquals(0.2516611478, p.bestValLoss().std(), 1e-9);
        double pplMean = (Math.exp(3.1) + Math.exp(3.3) + Math.exp(3.6)) / 3;
        double pplVar = (Math.pow(Math.exp(3.1) - pplMean, 2) + Math.pow(Math.exp(3.3) - pplMean, 2)
                + Math.pow(Math.exp(3.6) - pplMean, 2)) / 2;
        assertEquals(pplMean, p.bestValPpl().mean(), 1e-9);
        assertEquals(Math.sqrt(pplVar), p.bestValPpl().std(), 1e-9);
        assertEquals(3, p.bestValLoss().n());
        assertEquals(101.0, p.mean(RunRecord::wallS), 1e-12);
        assertTrue(p.complete());
    }

    @Test
    void statsOfOneValueHaveNoStdAndUnknownValuesAreLeftOut() {
        assertEquals(new Stats(2.0, Double.NaN, 1), Stats.of(2.0, Double.NaN));
        assertEquals(0, Stats.of(Double.NaN).n());
        assertEquals(Math.sqrt(2), Stats.of(1, 3).std(), 1e-15);
    }

    @Test
    void unfinishedRunsCountWithTheirBestLossSoFar() throws IOException {
        Config c = SyntheticRuns.config("train.seed=2");
        Path done = SyntheticRuns.finished(tmp.resolve("x"), SyntheticRuns.config("train.seed=1"), 4.0, 10);
        Path running = SyntheticRuns.started(tmp.resolve("y"), c, List.of(5.0, 4.5));
        RunRecord r = RunRecord.read(running);

        assertFalse(r.finished());
        assertEquals(4.5, r.bestValLoss());
        assertEquals(20, r.bestStep());
        assertEquals(20, r.steps());
        long tokens = 20L * 8 * 64;
        assertEquals(tokens, r.tokens());
        assertEquals(Flops.trainingPerToken(ModelSpec.from(c), 64) * tokens, r.trainFlops(), 1e-3);
        assertEquals(tokens / 1000.0, r.wallS(), 1e-9, "four training lines of 5 steps at 1000 tokens/s");
        assertTrue(Double.isNaN(r.paramsNonzero()), "parameter counts are known only from a summary");

        Point p = Aggregation.of(read(List.of(done, running))).points().get(0);
        assertEquals(2, p.runs().size());
        assertEquals(1, p.finished());
        assertEquals("unfinished", p.status());
        assertEquals(4.25, p.bestValLoss().mean(), 1e-12);
    }

    @Test
    void summariesWithoutCostFieldsAndACutLastMetricsLineAreRead() throws IOException {
        Config c = SyntheticRuns.config();
        Path dir = SyntheticRuns.finished(tmp, c, 4.0, 8.0);
        ObjectNode summary = (ObjectNode) new ObjectMapper().readTree(dir.resolve("summary.json").toFile());
        summary.remove(List.of("train_flops", "tokens_per_s")); // written by an older trainer
        Files.writeString(dir.resolve("summary.json"), summary.toString());
        Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\": 25, \"val_lo", StandardOpenOption.APPEND);

        RunRecord r = RunRecord.read(dir);
        long tokens = SyntheticRuns.STEPS * 8 * 64;
        assertEquals(Flops.trainingPerToken(ModelSpec.from(c), 64) * tokens, r.trainFlops(), 1e-3);
        assertEquals(tokens / 8.0, r.tokensPerS(), 1e-9);
        assertEquals(5, r.metrics().size(), "the line cut short by a crash is left out");
    }

    @Test
    void sltPointsAreComparedWithTheDensePointOfTheirModel() throws IOException {
        List<Path> dirs = List.of(
                SyntheticRuns.finished(tmp, SyntheticRuns.config("slt.mode=dense"), 3.0, 100),
                SyntheticRuns.finished(tmp, SyntheticRuns.config("slt.qk_scale=auto"), 3.5, 150),
                SyntheticRuns.finished(tmp, SyntheticRuns.config("slt.qk_scale=auto", "model.width=0.5"), 3.9, 50));
        Aggregation agg = Aggregation.of(read(dirs));
        assertEquals(List.of("tiny x0.5 slt qk=2.83 k=0.3", "tiny dense", "tiny slt qk=2.83 k=0.3"),
                agg.points().stream().map(Point::label).toList(), "ordered by preset, width, dense first, Q/K scale");
        Point half = agg.points().get(0);
        Point dense = agg.points().get(1);
        Point slt = agg.points().get(2);

        assertTrue(dense.dense());
        assertEquals(dense, agg.baseline(slt).orElseThrow());
        assertEquals(1.5, agg.ratioToDense(slt, RunRecord::wallS), 1e-12);
        assertEquals(0.5, agg.lossMinusDense(slt), 1e-12);
        assertEquals(1.0, agg.ratioToDense(slt, RunRecord::trainFlops), 1e-12, "same model, same tokens: same FLOPs");
        assertTrue(agg.baseline(half).isEmpty(), "no dense run of width 0.5");
        assertTrue(agg.baseline(dense).isEmpty());
    }

    @Test
    void keysThatVaryBeyondTheHeadlineOnesAreColumnsAndLabels() throws IOException {
        List<Path> dirs = List.of(
                SyntheticRuns.finished(tmp.resolve("a"), SyntheticRuns.config("model.logit_scale=4"), 3.0, 10),
                SyntheticRuns.finished(tmp.resolve("b"), SyntheticRuns.config(), 3.5, 10));
        Aggregation agg = Aggregation.of(read(dirs));
        assertEquals(List.of("model.logit_scale"), agg.varyingKeys());
        assertTrue(agg.columnKeys().contains("model.logit_scale"));
        assertEquals("tiny slt qk=1 k=0.3 logit_scale=4", agg.points().get(1).label());
    }
}
