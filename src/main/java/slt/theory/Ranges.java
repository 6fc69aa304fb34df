package slt.theory;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import slt.UserError;

/**
 * Integer lists on the command line: comma-separated items, each a number {@code N}, an
 * arithmetic range {@code START:END[:STEP]} (END included when the steps land on it; STEP default
 * 1) or a geometric range {@code START:END:xF} (START, START*F, ... up to END). The result is
 * sorted and free of duplicates. Bad input is a one-line {@link UserError} naming the option.
 */
public final class Ranges {
    private Ranges() {}

    public static List<Integer> parse(String option, String text, int min) {
        String example = option + (min <= 0 ? " 0:100:10, " : " 10:100:10, ") + option + " 8:8192:x2 or " + option + " 20,40";
        if (text == null || text.isBlank()) {
            throw new UserError(option + " is empty: give numbers or ranges, e.g. " + example);
        }
        TreeSet<Integer> out = new TreeSet<>();
        for (String item : text.split(",")) {
            String it = item.trim();
            if (it.isEmpty()) {
                throw new UserError(option + " " + text + ": an empty item between commas; write e.g. " + example);
            }
            String[] p = it.split(":", -1);
            if (p.length > 3) {
                throw new UserError(option + " " + it + ": too many ':'; write START:END[:STEP] or START:END:xFACTOR, e.g. " + example);
            }
            long start = number(option, it, p[0], example);
            if (p.length == 1) {
                add(out, option, it, start, min);
                continue;
            }
            long end = number(option, it, p[1], example);
            if (start > end) {
                throw new UserError(option + " " + it + ": the start " + start + " is above the end " + end
                        + "; write START:END[:STEP] with START <= END, e.g. " + example);
            }
            String step = p.length == 3 ? p[2].trim() : "1";
            if (step.startsWith("x") || step.startsWith("X") || step.startsWith("*")) {
                long f = number(option, it, step.substring(1), example);
                if (f < 2) {
                    throw new UserError(option + " " + it + ": the factor must be at least 2, e.g. " + option + " 8:8192:x2");
                }
                if (start < 1) {
                    throw new UserError(option + " " + it + ": a geometric range must start at 1 or more, e.g. " + option + " 8:8192:x2");
                }
                for (long v = start; v <= end; v *= f) {
                    add(out, option, it, v, min);
                }
            } else {
                long s = number(option, it, step, example);
                if (s < 1) {
                    throw new UserError(option + " " + it + ": the step must be at least 1, e.g. " + example);
                }
                for (long v = start; v <= end; v += s) {
                    add(out, option, it, v, min);
                }
            }
        }
        return new ArrayList<>(out);
    }

    private static void add(TreeSet<Integer> out, String option, String item, long v, int min) {
        if (v < min) {
            throw new UserError(option + " " + item + ": " + v + " is below the smallest allowed value " + min);
        }
        if (v > 1_000_000) {
            throw new UserError(option + " " + item + ": " + v + " is too large (at most 1000000)");
        }
        out.add((int) v);
        if (out.size() > 10_000) {
            throw new UserError(option + ": more than 10000 values; use a coarser step");
        }
    }

    private static long number(String option, String item, String s, String example) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new UserError(option + " " + item + ": '" + s + "' is not a whole number; write e.g. " + example);
        }
    }
}
