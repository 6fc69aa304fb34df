package slt.theory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import slt.UserError;

/** The subset-sum solvers against brute force and on instances with a known optimum. */
class SubsetSumTest {

    private static double[] randomValues(SplittableRandom r, int m, double scale) {
        double[] v = new double[m];
        for (int i = 0; i < m; i++) {
            v[i] = (2 * r.nextDouble() - 1) * (2 * r.nextDouble() - 1) * scale;
        }
        return v;
    }

    /** The reported error is that of the returned subset. */
    private static void assertConsistent(double[] v, double t, SubsetSum.Result res) {
        assertEquals(v.length, res.chosen().length);
        assertEquals(SubsetSum.error(v, res.chosen(), t), res.error(), 0.0);
    }

    @Test
    void exactMatchesBruteForceOnSmallRandomInstances() {
        SplittableRandom r = new SplittableRandom(7);
        SubsetSum.Solver exact = SubsetSum.of(SubsetSum.Kind.EXACT, 40, 36, 1);
        for (int trial = 0; trial < 400; trial++) {
            int m = r.nextInt(15);
            double scale = Math.pow(10, r.nextInt(5) - 2);
            double[] v = randomValues(r, m, scale);
            double t = (2 * r.nextDouble() - 1) * scale * (1 + r.nextInt(4));
            SubsetSum.Result best = SubsetSum.bruteForce(v, t);
            SubsetSum.Result got = exact.solve(v, t);
            assertConsistent(v, t, got);
            assertEquals(best.error(), got.error(), 1e-12 * scale * (m + 1), "m=" + m + " trial " + trial);
        }
    }

    @Test
    void nearExactMatchesBruteForceWhenTheCoreHoldsEverythingAndNeverBeatsTheOptimum() {
        SplittableRandom r = new SplittableRandom(8);
        SubsetSum.Solver nearAll = SubsetSum.of(SubsetSum.Kind.NEAR_EXACT, 40, 16, 1);
        SubsetSum.Solver nearSmallCore = SubsetSum.of(SubsetSum.Kind.NEAR_EXACT, 40, 6, 2);
        int matched = 0;
        for (int trial = 0; trial < 200; trial++) {
            int m = 1 + r.nextInt(16);
            double[] v = randomValues(r, m, 1);
            double t = 2 * r.nextDouble() - 1;
            SubsetSum.Result best = SubsetSum.bruteForce(v, t);
            SubsetSum.Result a = nearAll.solve(v, t);
            assertConsistent(v, t, a);
            assertEquals(best.error(), a.error(), 1e-12, "core 16 >= m: exact");
            SubsetSum.Result b = nearSmallCore.solve(v, t);
            assertConsistent(v, t, b);
            assertTrue(b.error() >= best.error() - 1e-12, "no solver beats the optimum");
            matched += b.error() <= best.error() + 1e-12 ? 1 : 0;
        }
        assertTrue(matched > 100, "a core of 6 plus local search finds the optimum of m <= 16 often: " + matched + " / 200");
    }

    @Test
    void bothSolversFindPlantedExactSolutionsOfIntegerInstances() {
        // Integer values: every subset sum is exact in double, and the planted subset makes the optimum 0.
        SplittableRandom r = new SplittableRandom(9);
        SubsetSum.Solver exact = SubsetSum.of(SubsetSum.Kind.EXACT, 40, 36, 1);
        SubsetSum.Solver near = SubsetSum.of(SubsetSum.Kind.NEAR_EXACT, 40, 20, 1);
        for (int trial = 0; trial < 10; trial++) {
            for (int m : new int[] {24, 40, 60, 90}) {
                double[] v = new double[m];
                double t = 0;
                for (int i = 0; i < m; i++) {
                    v[i] = r.nextInt(-1000, 1001);
                    if (r.nextBoolean()) {
                        t += v[i];
                    }
                }
                if (m <= 40) {
                    SubsetSum.Result e = exact.solve(v, t);
                    assertConsistent(v, t, e);
                    assertEquals(0.0, e.error(), "exact, m=" + m);
                }
                SubsetSum.Result n = near.solve(v, t);
                assertConsistent(v, t, n);
                assertEquals(0.0, n.error(), "near-exact, m=" + m);
            }
        }
    }

    @Test
    void nearExactReachesTheResolutionOfItsCoreOnRealInstancesWithAKnownOptimum() {
        // Real values with a planted subset: the optimum is 0 (to rounding); the exact optimum of the
        // 24-value core alone would typically be ~1e-7, the near-exact solver does far better.
        SplittableRandom r = new SplittableRandom(10);
        SubsetSum.Solver near = SubsetSum.of(SubsetSum.Kind.NEAR_EXACT, 40, 24, 1);
        SubsetSum.Solver exact = SubsetSum.of(SubsetSum.Kind.EXACT, 40, 36, 1);
        for (int trial = 0; trial < 10; trial++) {
            double[] v = randomValues(r, 60, 3);
            double t = 0;
            for (double x : v) {
                if (r.nextBoolean()) {
                    t += x;
                }
            }
            SubsetSum.Result n = near.solve(v, t);
            assertConsistent(v, t, n);
            assertTrue(n.error() < 1e-6, "near-exact error " + n.error());
            double[] first40 = java.util.Arrays.copyOf(v, 40);
            SubsetSum.Result e = exact.solve(first40, t);
            assertTrue(e.error() < 1e-7, "exact over 40 values: " + e.error());
        }
    }

    @Test
    void autoUsesTheExactSolverUpToExactMax() {
        SplittableRandom r = new SplittableRandom(11);
        SubsetSum.Solver auto = SubsetSum.of(SubsetSum.Kind.AUTO, 20, 8, 0);
        SubsetSum.Solver exact = SubsetSum.of(SubsetSum.Kind.EXACT, 40, 36, 1);
        for (int trial = 0; trial < 20; trial++) {
            double[] v = randomValues(r, 20, 1);
            double t = r.nextDouble();
            assertArrayEquals(exact.solve(v, t).chosen(), auto.solve(v, t).chosen());
        }
    }

    @Test
    void emptyInstancesAndBadSettings() {
        SubsetSum.Solver s = SubsetSum.of(SubsetSum.Kind.AUTO, 40, 36, 1);
        assertEquals(2.5, s.solve(new double[0], -2.5).error());
        assertThrows(UserError.class, () -> SubsetSum.of(SubsetSum.Kind.EXACT, 40, 36, 1).solve(new double[45], 1));
        // out-of-range settings are the caller's contract (the CLI names its options when it checks them)
        assertThrows(IllegalArgumentException.class, () -> SubsetSum.of(SubsetSum.Kind.AUTO, 50, 36, 1));
        assertThrows(IllegalArgumentException.class, () -> SubsetSum.of(SubsetSum.Kind.AUTO, 40, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> SubsetSum.of(SubsetSum.Kind.AUTO, 40, 36, -1));
        assertEquals(SubsetSum.Kind.NEAR_EXACT, SubsetSum.Kind.parse("near-exact"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SubsetSum.Kind.parse("gurobi"));
        assertTrue(e.getMessage().contains("solver 'gurobi'") && e.getMessage().contains("near-exact"), e.getMessage());
    }
}
