package slt.report;

import java.util.Arrays;

/**
 * Mean and sample standard deviation (n - 1 in the denominator) of the known values; NaN values
 * (unknown) are left out. {@code std} is NaN with fewer than two values, {@code mean} with none.
 */
public record Stats(double mean, double std, int n) {

    public static Stats of(double... values) {
        double[] v = Arrays.stream(values).filter(x -> !Double.isNaN(x)).toArray();
        if (v.length == 0) {
            return new Stats(Double.NaN, Double.NaN, 0);
        }
        double mean = Arrays.stream(v).sum() / v.length;
        if (v.length == 1) {
            return new Stats(mean, Double.NaN, 1);
        }
        double ss = Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum();
        return new Stats(mean, Math.sqrt(ss / (v.length - 1)), v.length);
    }
}
