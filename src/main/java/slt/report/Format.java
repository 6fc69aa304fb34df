package slt.report;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Locale;

/** How numbers look in the report: exact in CSV, short and readable in tables, labels and file names. */
final class Format {
    private Format() {}

    /** A CSV cell: numbers exactly (integral values without a fraction), blank for unknown (NaN, null). */
    static String csv(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Double d) {
            if (!Double.isFinite(d)) {
                return d.isNaN() ? "" : d.toString();
            }
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : d.toString();
        }
        String s = v.toString();
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? '"' + s.replace("\"", "\"\"") + '"' : s;
    }

    /** A short number for labels: 3 significant digits, no trailing zeros (2.8284 -> 2.83, 1.0 -> 1). */
    static String num(double v) {
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return new BigDecimal(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
    }

    /** {@code mean ± std} with {@code decimals} places; the std is left out when unknown (one seed). */
    static String meanStd(Stats s, int decimals) {
        if (s.n() == 0) {
            return "";
        }
        String f = "%." + decimals + "f";
        String mean = String.format(Locale.ROOT, f, s.mean());
        return Double.isNaN(s.std()) ? mean : mean + " ± " + String.format(Locale.ROOT, f, s.std());
    }

    /** A count with a k/M/G suffix (85.1M). */
    static String count(double v) {
        if (Double.isNaN(v)) {
            return "";
        }
        String[] suffix = {"", "k", "M", "G", "T"};
        int i = 0;
        while (Math.abs(v) >= 1000 && i < suffix.length - 1) {
            v /= 1000;
            i++;
        }
        return (i == 0 ? num(v) : String.format(Locale.ROOT, "%.3g", v)) + suffix[i];
    }

    /** FLOPs in scientific notation (1.23e18). */
    static String flops(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3g", v).replace("e+", "e");
    }

    /** A duration: seconds, minutes or hours. */
    static String duration(double seconds) {
        if (Double.isNaN(seconds)) {
            return "";
        }
        if (seconds < 120) {
            return String.format(Locale.ROOT, "%.1f s", seconds);
        }
        if (seconds < 7200) {
            return String.format(Locale.ROOT, "%.1f min", seconds / 60);
        }
        return String.format(Locale.ROOT, "%.2f h", seconds / 3600);
    }

    /** A fixed number of decimals, blank for unknown. */
    static String fixed(double v, int decimals) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** A ratio (1.23x), blank for unknown. */
    static String ratio(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.2f×", v);
    }

    /** A string safe as a file name: letters, digits, '.', '_' and '-'. */
    static String fileName(String s) {
        return s.replaceAll("[^A-Za-z0-9._-]+", "-").replaceAll("^-+|-+$", "");
    }
}
