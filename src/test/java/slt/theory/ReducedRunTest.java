package slt.theory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reduced runs of the three experiments: the error falls with the hidden size; the files are written. */
class ReducedRunTest {
    @TempDir
    Path tmp;

    private static Experiments.Common common(int sources, int samples) {
        return new Experiments.Common(1, sources, SubsetSum.Kind.AUTO, 40, 36, 1, Sources.Init.THEORY, samples, 2);
    }

    @Test
    void mhaErrorDecreasesWithHiddenSize() throws IOException {
        Experiments.Common c = common(6, 2000);
        Experiments.Outcome o = Experiments.mha(c, new Experiments.MhaSettings(List.of(0, 16, 32, 48), 4,
                new TargetTrainer.Settings(8, 8, 5, 1024, 0.1, 0.01, 1)), Experiments.Progress.NONE);
        assertEquals(4 * 6, o.rows().size());
        List<Outputs.Group> g = Outputs.groups(o.rows());
        for (int i = 1; i < g.size(); i++) {
            assertTrue(g.get(i).median() < g.get(i - 1).median(), "median error falls: " + g);
        }
        assertTrue(g.get(3).mean() < g.get(0).mean() / 100, "mean error at n=48 far below n=0: " + g);
        assertEquals(0.0, g.get(0).std(), 0.0, "n = 0: every source outputs 0, the error is mean |target output|");
        List<String> lines = Outputs.write(o, c, "slt theory mha (test)", tmp);
        for (String f : new String[] {"results.csv", "groups.csv", "fit.csv", "summary.md", TheoryPlots.FIG4}) {
            assertTrue(Files.size(tmp.resolve(f)) > 0, f);
        }
        List<String> csv = Files.readAllLines(tmp.resolve("results.csv"));
        assertEquals(1 + 24, csv.size());
        for (String col : new String[] {"n_hidden", "source", "length", "blocks", "error"}) {
            assertTrue(List.of(csv.get(0).split(",")).contains(col), col);
        }
        assertTrue(Files.readString(tmp.resolve("summary.md")).contains("0.8 exp(-0.06 n_K)"));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("fit mean error")), String.join("\n", lines));
    }

    @Test
    void transformerErrorDecreasesWithHiddenSizeForEveryDepth() throws IOException {
        Experiments.Common c = common(2, 100);
        Experiments.Outcome o = Experiments.transformer(c, new Experiments.TransformerSettings(List.of(1, 2), List.of(12, 72), 4, 8, 8),
                Experiments.Progress.NONE);
        assertEquals(2 * 2 * 2, o.rows().size());
        List<Outputs.Group> g = Outputs.groups(o.rows()); // sorted by blocks, then n
        assertTrue(g.get(1).mean() < g.get(0).mean() / 10, "1 block: " + g);
        assertTrue(g.get(3).mean() < g.get(2).mean() / 10, "2 blocks: " + g);
        Outputs.write(o, c, "slt theory transformer (test)", tmp);
        assertTrue(Files.size(tmp.resolve(TheoryPlots.FIG6)) > 0);
        assertTrue(Files.readString(tmp.resolve("summary.md")).contains("shared"));
    }

    @Test
    void lengthRunEvaluatesEveryLengthWithTargetsTrainedUpToTheMaximum() throws IOException {
        Experiments.Common c = common(2, 200);
        Experiments.Outcome o = Experiments.length(c, new Experiments.LengthSettings(List.of(24), List.of(8, 32, 128), 32,
                new TargetTrainer.Settings(8, 8, 2, 1024, 0.1, 0.01, 1)), Experiments.Progress.NONE);
        assertEquals(3 * 2, o.rows().size());
        for (Experiments.Row r : o.rows()) {
            assertEquals(Math.min(r.length(), 32), r.trainLength());
            assertTrue(Double.isFinite(r.error()) && r.error() >= 0);
        }
        Outputs.write(o, c, "slt theory length (test)", tmp);
        assertTrue(Files.size(tmp.resolve(TheoryPlots.FIG5)) > 0);
    }
}
