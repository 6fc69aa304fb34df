package slt.theory;

import java.util.ArrayList;
import java.util.List;
import org.apache.commons.math3.distribution.TDistribution;

/**
 * Fits of error = gamma * exp(-delta * n). The primary fit is least squares on the logarithm:
 * ln e = ln gamma - delta n (ordinary least squares; 95 % confidence intervals from Student's t
 * with points - 2 degrees of freedom; gamma's interval is exp of ln gamma's). A nonlinear fit
 * (least squares on e itself, Gauss-Newton from the log fit, intervals from the linearised
 * covariance) is reported beside it. {@link #sharedSlope} fits one delta shared by several series
 * (blocks), each with its own gamma.
 */
public final class ExpFit {
    private ExpFit() {}

    public static final double LEVEL = 0.95;

    /** gamma and delta with 95 % intervals, the number of points and R^2 (of the log fit, on ln e). */
    public record Fit(String method, double gamma, double gammaLo, double gammaHi, double delta, double deltaLo,
            double deltaHi, int points, double r2) {
        public double at(double n) {
            return gamma * Math.exp(-delta * n);
        }

        public boolean valid() {
            return Double.isFinite(gamma) && Double.isFinite(delta);
        }
    }

    /** One delta for all series, gamma per series. */
    public record Shared(double delta, double deltaLo, double deltaHi, double[] gamma, double[] gammaLo, double[] gammaHi,
            int points, double r2) {}

    static Fit invalid(String method, int points) {
        return new Fit(method, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, points, Double.NaN);
    }

    /** Least squares on ln e; points with e <= 0 or non-finite are left out. */
    public static Fit logLinear(double[] n, double[] e) {
        List<double[]> pts = positive(n, e);
        int k = pts.size();
        if (k < 2) {
            return invalid("least squares on ln(error)", k);
        }
        double mx = 0;
        double my = 0;
        for (double[] p : pts) {
            mx += p[0];
            my += Math.log(p[1]);
        }
        mx /= k;
        my /= k;
        double sxx = 0;
        double sxy = 0;
        double syy = 0;
        for (double[] p : pts) {
            double dx = p[0] - mx;
            double dy = Math.log(p[1]) - my;
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        if (sxx == 0) {
            return invalid("least squares on ln(error)", k);
        }
        double slope = sxy / sxx;
        double icpt = my - slope * mx;
        double rss = 0;
        for (double[] p : pts) {
            double r = Math.log(p[1]) - icpt - slope * p[0];
            rss += r * r;
        }
        double r2 = syy == 0 ? 1 : 1 - rss / syy;
        int df = k - 2;
        double seSlope = Double.NaN;
        double seIcpt = Double.NaN;
        double tq = Double.NaN;
        if (df > 0) {
            double s2 = rss / df;
            seSlope = Math.sqrt(s2 / sxx);
            seIcpt = Math.sqrt(s2 * (1.0 / k + mx * mx / sxx));
            tq = tQuantile(df);
        }
        return new Fit("least squares on ln(error)", Math.exp(icpt), Math.exp(icpt - tq * seIcpt), Math.exp(icpt + tq * seIcpt),
                -slope, -slope - tq * seSlope, -slope + tq * seSlope, k, r2);
    }

    /** Least squares on e itself (Gauss-Newton with step halving, started from the log fit). */
    public static Fit nonlinear(double[] n, double[] e) {
        String method = "nonlinear least squares on error";
        Fit start = logLinear(n, e);
        List<double[]> pts = new ArrayList<>();
        for (int i = 0; i < n.length; i++) {
            if (Double.isFinite(e[i]) && Double.isFinite(n[i])) {
                pts.add(new double[] {n[i], e[i]});
            }
        }
        int k = pts.size();
        if (!start.valid() || k < 2) {
            return invalid(method, k);
        }
        double g = start.gamma();
        double dl = start.delta();
        double rss = rss(pts, g, dl);
        for (int it = 0; it < 200; it++) {
            double a11 = 0;
            double a12 = 0;
            double a22 = 0;
            double b1 = 0;
            double b2 = 0;
            for (double[] p : pts) {
                double ex = Math.exp(-dl * p[0]);
                double r = p[1] - g * ex;
                double jg = ex;
                double jd = -g * p[0] * ex;
                a11 += jg * jg;
                a12 += jg * jd;
                a22 += jd * jd;
                b1 += jg * r;
                b2 += jd * r;
            }
            double det = a11 * a22 - a12 * a12;
            if (det == 0 || !Double.isFinite(det)) {
                break;
            }
            double sg = (a22 * b1 - a12 * b2) / det;
            double sd = (a11 * b2 - a12 * b1) / det;
            double f = 1;
            boolean improved = false;
            for (int h = 0; h < 40; h++) {
                double r2 = rss(pts, g + f * sg, dl + f * sd);
                if (r2 < rss) {
                    g += f * sg;
                    dl += f * sd;
                    improved = rss - r2 > 1e-15 * rss;
                    rss = r2;
                    break;
                }
                f /= 2;
            }
            if (!improved) {
                break;
            }
        }
        double a11 = 0;
        double a12 = 0;
        double a22 = 0;
        for (double[] p : pts) {
            double ex = Math.exp(-dl * p[0]);
            a11 += ex * ex;
            a12 += ex * (-g * p[0] * ex);
            a22 += (g * p[0] * ex) * (g * p[0] * ex);
        }
        int df = k - 2;
        double det = a11 * a22 - a12 * a12;
        double seG = Double.NaN;
        double seD = Double.NaN;
        double tq = Double.NaN;
        if (df > 0 && det > 0) {
            double s2 = rss / df;
            seG = Math.sqrt(s2 * a22 / det);
            seD = Math.sqrt(s2 * a11 / det);
            tq = tQuantile(df);
        }
        double mean = 0;
        for (double[] p : pts) {
            mean += p[1];
        }
        mean /= k;
        double tss = 0;
        for (double[] p : pts) {
            tss += (p[1] - mean) * (p[1] - mean);
        }
        return new Fit(method, g, g - tq * seG, g + tq * seG, dl, dl - tq * seD, dl + tq * seD, k, tss == 0 ? 1 : 1 - rss / tss);
    }

    private static double rss(List<double[]> pts, double g, double d) {
        double s = 0;
        for (double[] p : pts) {
            double r = p[1] - g * Math.exp(-d * p[0]);
            s += r * r;
        }
        return s;
    }

    /** ln e[b][i] = ln gamma_b - delta n[b][i]: ordinary least squares with one intercept per series. */
    public static Shared sharedSlope(List<double[]> ns, List<double[]> es) {
        int series = ns.size();
        List<List<double[]>> pts = new ArrayList<>();
        double sxx = 0;
        double sxy = 0;
        double syy = 0;
        int total = 0;
        double[] mx = new double[series];
        double[] my = new double[series];
        for (int b = 0; b < series; b++) {
            List<double[]> p = positive(ns.get(b), es.get(b));
            pts.add(p);
            for (double[] q : p) {
                mx[b] += q[0];
                my[b] += Math.log(q[1]);
            }
            if (!p.isEmpty()) {
                mx[b] /= p.size();
                my[b] /= p.size();
            }
            for (double[] q : p) {
                double dx = q[0] - mx[b];
                double dy = Math.log(q[1]) - my[b];
                sxx += dx * dx;
                sxy += dx * dy;
                syy += dy * dy;
            }
            total += p.size();
        }
        double[] gamma = new double[series];
        double[] lo = new double[series];
        double[] hi = new double[series];
        if (sxx == 0) {
            java.util.Arrays.fill(gamma, Double.NaN);
            java.util.Arrays.fill(lo, Double.NaN);
            java.util.Arrays.fill(hi, Double.NaN);
            return new Shared(Double.NaN, Double.NaN, Double.NaN, gamma, lo, hi, total, Double.NaN);
        }
        double slope = sxy / sxx;
        double rss = 0;
        for (int b = 0; b < series; b++) {
            for (double[] q : pts.get(b)) {
                double r = Math.log(q[1]) - my[b] - slope * (q[0] - mx[b]);
                rss += r * r;
            }
        }
        int used = 0;
        for (List<double[]> p : pts) {
            used += p.isEmpty() ? 0 : 1;
        }
        int df = total - used - 1;
        double tq = df > 0 ? tQuantile(df) : Double.NaN;
        double s2 = df > 0 ? rss / df : Double.NaN;
        double seSlope = Math.sqrt(s2 / sxx);
        for (int b = 0; b < series; b++) {
            int k = pts.get(b).size();
            if (k == 0) {
                gamma[b] = lo[b] = hi[b] = Double.NaN;
                continue;
            }
            double icpt = my[b] - slope * mx[b];
            double se = Math.sqrt(s2 * (1.0 / k + mx[b] * mx[b] / sxx));
            gamma[b] = Math.exp(icpt);
            lo[b] = Math.exp(icpt - tq * se);
            hi[b] = Math.exp(icpt + tq * se);
        }
        return new Shared(-slope, -slope - tq * seSlope, -slope + tq * seSlope, gamma, lo, hi, total,
                syy == 0 ? 1 : 1 - rss / syy);
    }

    private static List<double[]> positive(double[] n, double[] e) {
        List<double[]> pts = new ArrayList<>();
        for (int i = 0; i < n.length; i++) {
            if (e[i] > 0 && Double.isFinite(e[i]) && Double.isFinite(n[i])) {
                pts.add(new double[] {n[i], e[i]});
            }
        }
        return pts;
    }

    /** The two-sided {@link #LEVEL} quantile of Student's t with {@code df} degrees of freedom. */
    static double tQuantile(int df) {
        return new TDistribution(null, df).inverseCumulativeProbability(0.5 + LEVEL / 2);
    }
}
