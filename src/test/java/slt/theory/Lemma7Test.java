package slt.theory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Lemma 7 construction: structure of the masks, exactness when exact solutions exist, reported errors. */
class Lemma7Test {
    private static final SubsetSum.Solver SOLVER = SubsetSum.of(SubsetSum.Kind.AUTO, 40, 36, 1);

    @Test
    void handBuiltSourceWithExactSolutionsGivesTheTargetMergedMatricesExactly() {
        // Target: d = 2, d_K = 1, d_V = 1, d_out = 1. W_Q W_K^T = [[1, -1], [2, -2]]; W_V W_O = [3, -0.5].
        Mha target = new Mha(new double[][] {{1}, {2}}, new double[][] {{1}, {-1}}, new double[][] {{1.5}, {-0.25}},
                new double[][] {{2}});
        // Source: n_K = n_V = 4; units 0,1 belong to input coordinate 0, units 2,3 to coordinate 1.
        // The pruned product must be sqrt(4 / 1) * [[1, -1], [2, -2]] = [[2, -2], [4, -4]].
        double[][] wq = {{1, 1, 9, 9}, {9, 9, 1, 1}};        // the 9s are pruned by the block structure
        double[][] wk = {{2, 5, 4, 3}, {-2, 7, -1, -3}};     // (0,0): {2}; (0,1): {-2}; (1,0): {4}; (1,1): {-1, -3}
        double[][] wv = {{1, 2, 7, 7}, {7, 7, 0.5, 1}};
        double[][] wo = {{1}, {1}, {-0.5}, {-0.25}};          // (0,0): 1*1 + 2*1 = 3; (1,0): 0.5*(-0.5) + 1*(-0.25) = -0.5
        Mha source = new Mha(wq, wk, wv, wo);
        Construction.PrunedMha p = Construction.pruneMha(source, target, SOLVER);
        double[][] product = Matrices.mulT(p.net().wq(), p.net().wk());
        assertArrayEquals(new double[] {2, -2}, product[0]);
        assertArrayEquals(new double[] {4, -4}, product[1]);
        Mha.Merged got = p.net().merged(1);
        Mha.Merged want = target.merged(1);
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(want.l()[i], got.l()[i], 0.0, "logit matrix row " + i);
            assertArrayEquals(want.b()[i], got.b()[i], 0.0, "value matrix row " + i);
        }
        assertEquals(0.0, p.qkError());
        assertEquals(0.0, p.voError());
        // Structure: every column of the pruned W_Q and W_V keeps exactly the entry of its block.
        for (int j = 0; j < 4; j++) {
            int block = Lemma7.block(j, 4, 2);
            for (int i = 0; i < 2; i++) {
                assertEquals(i == block ? wq[i][j] : 0.0, p.net().wq()[i][j]);
                assertEquals(i == block ? wv[i][j] : 0.0, p.net().wv()[i][j]);
            }
        }
    }

    @Test
    void reluConstructionReproducesAOneLayerReluTargetExactlyWhenSolutionsExist() {
        // Target relu(z W), W = [[1.5, -2], [0.5, 1]]. Source relu(relu(z U) V), n = 8: units 0-3 read z_0, 4-7 read z_1.
        double[][] w = {{1.5, -2}, {0.5, 1}};
        double[][] u = {{1, 2, -1, -0.5, 3, 3, 3, 3}, {3, 3, 3, 3, 0.5, 1, -1, -2}};
        double[][] v = new double[8][2];
        // block 0, positive units 0 (u=1), 1 (u=2): products u*v must reach W[0][o]: o=0: 1*1.5; o=1: 2*(-1)
        v[0] = new double[] {1.5, 7};
        v[1] = new double[] {9, -1};
        // block 0, negative units 2 (u=-1), 3 (u=-0.5): o=0: -1*-1.5 = 1.5; o=1: -0.5*4 = -2
        v[2] = new double[] {-1.5, 5};
        v[3] = new double[] {8, 4};
        // block 1, positive units 4 (0.5), 5 (1): o=0: 0.5*1 = 0.5; o=1: 1*1 = 1
        v[4] = new double[] {1, 6};
        v[5] = new double[] {7, 1};
        // block 1, negative units 6 (-1), 7 (-2): o=0: -2*-0.25 = 0.5; o=1: -1*-1 = 1
        v[6] = new double[] {3, -1};
        v[7] = new double[] {-0.25, 9};
        Lemma7.Pruned p = Lemma7.pruneRelu(u, v, w, SOLVER);
        assertEquals(0.0, p.maxError());
        double[][] up = Matrices.masked(u, p.maskP());
        double[][] vp = Matrices.masked(v, p.maskS());
        SplittableRandom r = new SplittableRandom(3);
        for (int trial = 0; trial < 100; trial++) {
            double[] z = {4 * r.nextDouble() - 2, 4 * r.nextDouble() - 2};
            double[] want = Transformer.reluLayer(z, w);
            double[] got = Transformer.reluLayer(Transformer.reluLayer(z, up), vp);
            assertArrayEquals(want, got, 1e-12);
        }
    }

    @Test
    void reportedEntryErrorsAreThoseOfThePrunedProduct() {
        SplittableRandom r = new SplittableRandom(5);
        for (int n : new int[] {0, 1, 3, 10, 30, 61}) {
            double[][] p = Matrices.uniform(r.nextLong(), 2, n, 1);
            double[][] s = Matrices.uniform(r.nextLong(), n, 3, 1);
            double[][] t = Matrices.uniform(r.nextLong(), 2, 3, 0.5);
            Lemma7.Pruned pr = Lemma7.pruneLinear(p, s, t, SOLVER);
            double[][] prod = Matrices.mul(Matrices.masked(p, pr.maskP()), Matrices.masked(s, pr.maskS()));
            for (int i = 0; i < 2; i++) {
                for (int o = 0; o < 3; o++) {
                    double e = n == 0 ? Math.abs(t[i][o]) : Math.abs(prod[i][o] - t[i][o]);
                    assertEquals(e, pr.entryError()[i][o], 1e-12, "n=" + n + " entry " + i + "," + o);
                }
            }
            if (n >= 30) {
                assertTrue(pr.maxError() < 1e-3, "n=" + n + ": subset sums over " + n / 2 + " products reach the target: " + pr.maxError());
            }
        }
    }

    @Test
    void blocksPartitionTheUnitsEvenly() {
        for (int n : new int[] {1, 2, 5, 10, 11, 100}) {
            int[] counts = new int[2];
            for (int j = 0; j < n; j++) {
                counts[Lemma7.block(j, n, 2)]++;
            }
            assertTrue(Math.abs(counts[0] - counts[1]) <= 1, "n=" + n);
        }
    }
}
