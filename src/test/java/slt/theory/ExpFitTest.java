package slt.theory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The exponential fits recover known gamma and delta; their intervals have the stated coverage. */
class ExpFitTest {
    private static final double[] N = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};

    private static double[] noisy(SplittableRandom r, double gamma, double delta, double sigma) {
        double[] e = new double[N.length];
        for (int i = 0; i < N.length; i++) {
            e[i] = gamma * Math.exp(-delta * N[i]) * Math.exp(sigma * gaussian(r));
        }
        return e;
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    @Test
    void exactDataIsFitExactly() {
        double[] e = new double[N.length];
        for (int i = 0; i < N.length; i++) {
            e[i] = 0.8 * Math.exp(-0.06 * N[i]);
        }
        ExpFit.Fit f = ExpFit.logLinear(N, e);
        assertEquals(0.8, f.gamma(), 1e-12);
        assertEquals(0.06, f.delta(), 1e-12);
        ExpFit.Fit g = ExpFit.nonlinear(N, e);
        assertEquals(0.8, g.gamma(), 1e-9);
        assertEquals(0.06, g.delta(), 1e-9);
    }

    @Test
    void noisyPaperCurveIsRecoveredWithinTheIntervals() {
        SplittableRandom r = new SplittableRandom(42);
        double[] e = noisy(r, 0.8, 0.06, 0.1);
        ExpFit.Fit f = ExpFit.logLinear(N, e);
        assertTrue(f.gammaLo() <= 0.8 && 0.8 <= f.gammaHi(), "gamma CI " + f);
        assertTrue(f.deltaLo() <= 0.06 && 0.06 <= f.deltaHi(), "delta CI " + f);
        assertEquals(0.06, f.delta(), 0.01);
        ExpFit.Fit g = ExpFit.nonlinear(N, e);
        assertEquals(0.8, g.gamma(), 0.1);
        assertEquals(0.06, g.delta(), 0.01);
    }

    @Test
    void nonlinearFitIntervalsCoverAbout95PercentUnderAdditiveNoise() {
        SplittableRandom r = new SplittableRandom(43);
        int coverG = 0;
        int coverD = 0;
        int trials = 500;
        for (int t = 0; t < trials; t++) {
            double[] e = new double[N.length];
            for (int i = 0; i < N.length; i++) {
                e[i] = 0.8 * Math.exp(-0.06 * N[i]) + 0.005 * gaussian(r);
            }
            ExpFit.Fit g = ExpFit.nonlinear(N, e);
            coverG += g.gammaLo() <= 0.8 && 0.8 <= g.gammaHi() ? 1 : 0;
            coverD += g.deltaLo() <= 0.06 && 0.06 <= g.deltaHi() ? 1 : 0;
        }
        assertEquals(0.95, coverG / (double) trials, 0.04, "gamma coverage");
        assertEquals(0.95, coverD / (double) trials, 0.04, "delta coverage");
    }

    @Test
    void logFitIntervalsCoverAbout95Percent() {
        SplittableRandom r = new SplittableRandom(1);
        int coverG = 0;
        int coverD = 0;
        int trials = 1000;
        for (int i = 0; i < trials; i++) {
            ExpFit.Fit f = ExpFit.logLinear(N, noisy(r, 0.8, 0.06, 0.3));
            coverG += f.gammaLo() <= 0.8 && 0.8 <= f.gammaHi() ? 1 : 0;
            coverD += f.deltaLo() <= 0.06 && 0.06 <= f.deltaHi() ? 1 : 0;
        }
        assertEquals(0.95, coverG / (double) trials, 0.025, "gamma coverage");
        assertEquals(0.95, coverD / (double) trials, 0.025, "delta coverage");
    }

    @Test
    void sharedSlopeRecoversOneDeltaAndPerSeriesGammas() {
        SplittableRandom r = new SplittableRandom(3);
        double[] gammas = {1e-4, 1e-3, 1e-2, 5e-2};
        List<double[]> ns = new ArrayList<>();
        List<double[]> es = new ArrayList<>();
        for (double g : gammas) {
            ns.add(N);
            es.add(noisy(r, g, 0.09, 0.1));
        }
        ExpFit.Shared s = ExpFit.sharedSlope(ns, es);
        assertTrue(s.deltaLo() <= 0.09 && 0.09 <= s.deltaHi(), "shared delta " + s.delta() + " [" + s.deltaLo() + ", " + s.deltaHi() + "]");
        for (int b = 0; b < gammas.length; b++) {
            assertTrue(s.gammaLo()[b] <= gammas[b] && gammas[b] <= s.gammaHi()[b], "gamma " + b);
        }
    }

    @Test
    void studentQuantilesMatchTables() {
        assertEquals(12.706, ExpFit.tQuantile(1), 1e-3);
        assertEquals(2.228, ExpFit.tQuantile(10), 1e-3);
        assertEquals(1.960, ExpFit.tQuantile(100000), 1e-3);
        assertEquals(2.262, ExpFit.tQuantile(9), 1e-3);
    }

    @Test
    void nonPositiveErrorsAreLeftOut() {
        ExpFit.Fit f = ExpFit.logLinear(new double[] {0, 10, 20}, new double[] {1, 0, Math.exp(-2)});
        assertEquals(2, f.points());
        assertEquals(0.1, f.delta(), 1e-12);
        assertTrue(Double.isNaN(f.deltaLo()), "no interval from two points");
    }
}
