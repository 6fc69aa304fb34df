package slt.sweep;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import slt.UserError;
import slt.config.Config;
import slt.config.ConfigLoader;

/**
 * A sweep file: {@code base} (a run config), {@code set} (overrides applied to every point) and
 * {@code grid} (config key -> list of values; the points are the cartesian product, first key
 * slowest). A grid key may also name several keys joined by commas, with a list of value tuples:
 * they vary together (e.g. {@code "model.preset,model.width": [[mini, 0.5], [small, 1]]}).
 *
 * <p>Every point is an ordinary run directory {@code <run.dir>/<sweep name>/<point name>}, where
 * run.dir is the base's after {@code set} and the point name lists its grid values
 * ({@code qk_scale=auto+seed=2}). Loading validates every point's config, so a sweep that starts
 * has no point that would fail on its config.
 */
public final class Sweep {
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY).build();

    private final String name;
    private final Path file;
    private final Path base;
    private final List<String> set;
    private final List<Axis> grid;
    private final Path dir;
    private final List<Point> points;

    /** One grid axis: keys that vary together, and their value tuples. */
    record Axis(List<String> keys, List<List<String>> values) {}

    /** One point of the sweep. */
    public record Point(int index, String name, List<String> overrides, Config config, Path runDir) {}

    private Sweep(String name, Path file, Path base, List<String> set, List<Axis> grid) {
        this.name = name;
        this.file = file;
        this.base = base;
        this.set = set;
        this.grid = grid;
        Config withSet = ConfigLoader.load(base, set);
        this.dir = Path.of(withSet.run().dir(), name);
        this.points = expand();
    }

    /** Reads and validates a sweep file. */
    public static Sweep load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new UserError("sweep file " + file + " not found: pass e.g. configs/sweeps/cpu-demo.yaml");
        }
        JsonNode root;
        try {
            root = ConfigLoader.readOneDocument(YAML, file, "sweep file");
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            String twice = ConfigLoader.duplicateKey(e);
            throw new UserError(twice != null ? "sweep file " + file + " gives key '" + twice + "' twice" + where + ": keep one"
                    : "sweep file " + file + " is not valid YAML" + where + ": "
                            + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (IOException e) {
            throw new UserError("cannot read sweep file " + file + ": " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new UserError("sweep file " + file + " must be a mapping with keys base, set and grid");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!Set.of("base", "set", "grid").contains(k)) {
                throw new UserError("unknown key '" + k + "' in sweep file " + file + ": a sweep has base, set and grid");
            }
        }
        JsonNode baseNode = root.get("base");
        if (baseNode == null || !baseNode.isTextual()) {
            throw new UserError("sweep file " + file + " needs base: the path of a run config, e.g. base: configs/quickstart.yaml");
        }
        Path base = resolve(file, baseNode.asText());
        List<String> set = new ArrayList<>();
        JsonNode setNode = root.get("set");
        if (setNode != null && !setNode.isNull()) {
            if (!setNode.isObject()) {
                throw new UserError("set in " + file + " must map config keys to values, e.g. set: {train.epochs: 2}");
            }
            setNode.fields().forEachRemaining(e -> set.add(e.getKey() + "=" + scalar(file, e.getKey(), e.getValue())));
        }
        JsonNode gridNode = root.get("grid");
        if (gridNode == null || !gridNode.isObject() || gridNode.isEmpty()) {
            throw new UserError("sweep file " + file + " has an empty grid: give grid: {config.key: [value, ...]}");
        }
        List<Axis> grid = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = gridNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            List<String> keys = List.of(e.getKey().split("\\s*,\\s*"));
            for (String k : keys) {
                if (!seen.add(k)) {
                    throw new UserError("grid key " + k + " appears twice in " + file);
                }
            }
            if (!e.getValue().isArray() || e.getValue().isEmpty()) {
                throw new UserError("grid key " + e.getKey() + " in " + file + " needs a non-empty list of values");
            }
            List<List<String>> values = new ArrayList<>();
            for (JsonNode v : e.getValue()) {
                if (keys.size() == 1) {
                    values.add(List.of(scalar(file, e.getKey(), v)));
                } else {
                    if (!v.isArray() || v.size() != keys.size()) {
                        throw new UserError("grid key '" + e.getKey() + "' in " + file + " varies " + keys.size()
                                + " keys together: each value must be a list of " + keys.size() + ", e.g. [mini, 0.5]");
                    }
                    List<String> tuple = new ArrayList<>();
                    for (int i = 0; i < keys.size(); i++) {
                        tuple.add(scalar(file, keys.get(i), v.get(i)));
                    }
                    values.add(tuple);
                }
            }
            grid.add(new Axis(keys, values));
        }
        String name = file.getFileName().toString().replaceFirst("\\.ya?ml$", "");
        if (!Config.isDirectoryName(name)) {
            throw new UserError("sweep file " + file + " gives the sweep the directory name '" + name + "' (its file name "
                    + "without .yaml): rename the file to letters, digits and . _ = + -, e.g. qk-scale.yaml");
        }
        return new Sweep(name, file, base, set, grid);
    }

    private static Path resolve(Path sweepFile, String path) {
        Path p = Path.of(path);
        if (p.isAbsolute() || Files.exists(p)) {
            return p;
        }
        Path sibling = sweepFile.toAbsolutePath().getParent().resolve(path);
        if (Files.exists(sibling)) {
            return sibling;
        }
        throw new UserError("base config " + path + " of sweep " + sweepFile + " not found (relative to the current "
                + "directory or to the sweep file)");
    }

    private static String scalar(Path file, String key, JsonNode v) {
        if (v == null || v.isContainerNode()) {
            throw new UserError("value of " + key + " in " + file + " must be a single value, not a list or mapping");
        }
        return v.isNull() ? "null" : v.asText();
    }

    private List<Point> expand() {
        List<List<String[]>> combos = new ArrayList<>();
        combos.add(new ArrayList<>());
        for (Axis axis : grid) {
            List<List<String[]>> next = new ArrayList<>();
            for (List<String[]> prefix : combos) {
                for (List<String> tuple : axis.values()) {
                    List<String[]> c = new ArrayList<>(prefix);
                    for (int i = 0; i < axis.keys().size(); i++) {
                        c.add(new String[] {axis.keys().get(i), tuple.get(i)});
                    }
                    next.add(c);
                }
            }
            combos = next;
        }
        Set<String> lastSegments = new HashSet<>();
        boolean ambiguous = false;
        for (Axis axis : grid) {
            for (String k : axis.keys()) {
                ambiguous |= !lastSegments.add(k.substring(k.lastIndexOf('.') + 1));
            }
        }
        List<Point> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (List<String[]> combo : combos) {
            StringBuilder pointName = new StringBuilder();
            List<String> overrides = new ArrayList<>(set);
            for (String[] kv : combo) {
                overrides.add(kv[0] + "=" + kv[1]);
                String key = ambiguous ? kv[0] : kv[0].substring(kv[0].lastIndexOf('.') + 1);
                pointName.append(pointName.length() == 0 ? "" : "+").append(key).append('=')
                        .append(kv[1].replaceAll("[^A-Za-z0-9._-]", "_"));
            }
            String n = pointName.toString();
            if (!names.add(n)) {
                throw new UserError("sweep " + file + " gives two points the name " + n + ": make the grid values distinct");
            }
            overrides.add("run.dir=" + dir);
            overrides.add("run.name=" + n);
            Config c;
            try {
                c = ConfigLoader.load(base, overrides);
            } catch (UserError e) {
                throw new UserError("sweep " + file + ", point " + n + ": " + e.getMessage());
            }
            out.add(new Point(out.size(), n, List.copyOf(overrides), c, dir.resolve(n)));
        }
        return out;
    }

    public String name() {
        return name;
    }

    public Path file() {
        return file;
    }

    public Path base() {
        return base;
    }

    /** Where the sweep's run directories live. */
    public Path dir() {
        return dir;
    }

    public List<Point> points() {
        return points;
    }

    /** The grid, as {keys -> value tuples}, for printing. */
    public Map<String, List<List<String>>> grid() {
        Map<String, List<List<String>>> m = new LinkedHashMap<>();
        for (Axis a : grid) {
            m.put(String.join(",", a.keys()), a.values());
        }
        return m;
    }
}
