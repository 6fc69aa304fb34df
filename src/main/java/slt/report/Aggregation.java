package slt.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import slt.config.Config;
import slt.config.ConfigLoader;

/**
 * Runs grouped into grid points, the config keys that tell the points apart, and each SLT point's
 * dense baseline (slt.mode dense, same preset and width).
 */
public final class Aggregation {

    /**
     * Keys that do not make a different experiment: the seed (aggregated over), where and on what a
     * run ran, and bookkeeping that leaves the result alone ({@code train.micro_batch} changes only
     * the summation order of the accumulated gradient).
     */
    public static final Set<String> IGNORED_KEYS = Set.of(
            "train.seed", "run.name", "run.dir", "run.device", "run.threads", "data.path", "data.cache_dir",
            "train.micro_batch", "train.log_every", "train.checkpoint_every", "train.keep_checkpoints");

    /** Keys shown in every table, whether or not they vary; the others are shown only when they do. */
    public static final List<String> HEADLINE_KEYS = List.of(
            "model.preset", "model.width", "slt.mode", "slt.qk_scale", "slt.density");

    /** Table order: preset, width, qk_dim, v_dim, dense before SLT, Q/K scale, density. */
    private static final Comparator<Config> ORDER = Comparator
            .<Config, Integer>comparing(c -> c.model().preset().ordinal())
            .thenComparingDouble(c -> c.model().width())
            .thenComparingInt(Config::qkDim)
            .thenComparingInt(Config::vDim)
            .thenComparing(c -> c.slt().mode() == Config.Mode.DENSE ? 0 : 1)
            .thenComparingDouble(Config::qkScale)
            .thenComparingDouble(c -> c.slt().density())
            .thenComparing(c -> key(c).toString());

    private final List<RunRecord> runs;
    private final List<Point> points;
    private final List<String> varyingKeys;
    private final Map<RunRecord, Point> pointOfRun = new IdentityHashMap<>();

    private Aggregation(List<RunRecord> runs, List<Point> points, List<String> varyingKeys) {
        this.runs = runs;
        this.points = points;
        this.varyingKeys = varyingKeys;
        for (Point p : points) {
            p.runs().forEach(r -> pointOfRun.put(r, p));
        }
    }

    /** Groups {@code runs} (at least one) into points, in table order. */
    public static Aggregation of(List<RunRecord> runs) {
        Map<Map<String, Object>, List<RunRecord>> groups = new LinkedHashMap<>();
        for (RunRecord r : runs) {
            groups.computeIfAbsent(key(r.config()), k -> new ArrayList<>()).add(r);
        }
        List<String> varying = varying(groups.keySet());
        List<Map.Entry<Map<String, Object>, List<RunRecord>>> sorted = new ArrayList<>(groups.entrySet());
        sorted.sort(Comparator.comparing(e -> e.getValue().get(0).config(), ORDER));
        List<Point> points = new ArrayList<>();
        String idFormat = "p%0" + Integer.toString(sorted.size()).length() + "d";
        for (var e : sorted) {
            List<RunRecord> members = new ArrayList<>(e.getValue());
            members.sort(Comparator.comparingLong(RunRecord::seed).thenComparing(RunRecord::dir));
            Config c = members.get(0).config();
            points.add(new Point(String.format(idFormat, points.size() + 1), label(c, varying, Set.of()), e.getKey(), c,
                    List.copyOf(members)));
        }
        return new Aggregation(List.copyOf(runs), List.copyOf(points), varying);
    }

    public List<RunRecord> runs() {
        return runs;
    }

    public List<Point> points() {
        return points;
    }

    /** Config keys whose value differs between points, in defaults order. */
    public List<String> varyingKeys() {
        return varyingKeys;
    }

    /** Keys shown as columns: the headline keys, then the other keys that vary. */
    public List<String> columnKeys() {
        List<String> out = new ArrayList<>(HEADLINE_KEYS);
        varyingKeys.stream().filter(k -> !HEADLINE_KEYS.contains(k)).forEach(out::add);
        return out;
    }

    public Point pointOf(RunRecord run) {
        return pointOfRun.get(run);
    }

    /** The runs that have not written a summary yet. */
    public long unfinishedRuns() {
        return runs.stream().filter(r -> !r.finished()).count();
    }

    /**
     * The dense point an SLT point's cost is compared with: same preset and width, mode dense,
     * and among those the one whose other (non-slt) keys differ least. Empty for dense points.
     */
    public Optional<Point> baseline(Point p) {
        if (p.dense()) {
            return Optional.empty();
        }
        return points.stream()
                .filter(d -> d.dense() && d.model().equals(p.model()))
                .min(Comparator.comparingLong(d -> differingNonSltKeys(d.key(), p.key())));
    }

    /** The mean of {@code value} at {@code p} divided by its mean at p's dense baseline; NaN without one. */
    public double ratioToDense(Point p, ToDoubleFunction<RunRecord> value) {
        return baseline(p).map(d -> p.mean(value) / d.mean(value)).orElse(Double.NaN);
    }

    /** Mean best validation loss at {@code p} minus that of its dense baseline; NaN without one. */
    public double lossMinusDense(Point p) {
        return baseline(p).map(d -> p.bestValLoss().mean() - d.bestValLoss().mean()).orElse(Double.NaN);
    }

    /** The flattened config (section.key -> value) without the ignored keys: equal for runs of one point. */
    static Map<String, Object> key(Config c) {
        Map<String, Object> flat = flatten(c);
        flat.keySet().removeAll(IGNORED_KEYS);
        return flat;
    }

    /**
     * Every config key as section.key -> value, in defaults order; model.context as the number of
     * positions the model has (an explicit preset default equals the implicit one).
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> flatten(Config c) {
        Map<String, Object> flat = new LinkedHashMap<>();
        for (var section : ConfigLoader.toTree(c).entrySet()) {
            for (var e : ((Map<String, Object>) section.getValue()).entrySet()) {
                flat.put(section.getKey() + "." + e.getKey(), e.getValue());
            }
        }
        flat.put("model.context", c.context());
        flat.put("model.qk_dim", c.qkDim());
        flat.put("model.v_dim", c.vDim());
        return flat;
    }

    /**
     * A short description of a config: model size, mode, Q/K scale (for dense models only when
     * not 1), density (SLT only) and every other varying key, leaving out {@code omit}; e.g.
     * "mini x0.5 slt qk=2.83 k=0.3 logit_scale=4", "small dense".
     */
    static String label(Config c, List<String> varying, Set<String> omit) {
        List<String> parts = new ArrayList<>();
        parts.add(modelName(c));
        boolean dense = c.slt().mode() == Config.Mode.DENSE;
        parts.add(dense ? "dense" : "slt");
        if (!omit.contains("slt.qk_scale") && !(dense && c.qkScale() == 1.0)) {
            parts.add("qk=" + Format.num(c.qkScale()));
        }
        if (!dense && !omit.contains("slt.density")) {
            parts.add("k=" + Format.num(c.slt().density()));
        }
        Map<String, Object> flat = flatten(c);
        for (String k : varying) {
            if (!HEADLINE_KEYS.contains(k) && !omit.contains(k)) {
                parts.add(k.substring(k.indexOf('.') + 1) + "=" + display(flat.get(k)));
            }
        }
        return String.join(" ", parts);
    }

    /** Preset and width, e.g. "mini x0.5": the model size. */
    static String modelName(Config c) {
        double w = c.model().width();
        return c.model().preset().key() + (w == 1.0 ? "" : " x" + Format.num(w));
    }

    /** A config value as shown in tables: numbers short, null as "null". */
    private static String display(Object v) {
        return v instanceof Number n ? Format.num(n.doubleValue()) : String.valueOf(v);
    }

    private static List<String> varying(Set<Map<String, Object>> keys) {
        Map<String, Object> first = keys.iterator().next();
        return first.keySet().stream()
                .filter(k -> keys.stream().anyMatch(other -> !Objects.equals(other.get(k), first.get(k))))
                .toList();
    }

    private static long differingNonSltKeys(Map<String, Object> a, Map<String, Object> b) {
        return a.keySet().stream()
                .filter(k -> !k.startsWith("slt.") && !Objects.equals(a.get(k), b.get(k)))
                .count();
    }
}
