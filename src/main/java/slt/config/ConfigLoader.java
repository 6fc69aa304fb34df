package slt.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.EnumFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import slt.UserError;

/**
 * Loads a run config: the built-in defaults, overlaid by a YAML file, overlaid by
 * {@code section.key=value} overrides (from the command line, or a sweep's set and grid), then
 * bound to {@link Config} and validated. Unknown keys, type errors and bad values are refused
 * with one line naming the key.
 */
public final class ConfigLoader {

    private static final YAMLMapper YAML = YAMLMapper.builder(
                    YAMLFactory.builder()
                            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                            .build())
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS) // "preset: 3" is not medium
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY) // a key given twice is a mistake
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(EnumFeature.WRITE_ENUMS_TO_LOWERCASE)
            .build();

    private ConfigLoader() {}

    /** The defaults alone (the paper's GPT-2 small recipe), validated. */
    public static Config defaults() {
        return bind(defaultTree()).validate();
    }

    /** Defaults, overlaid by {@code file} (may be null), overlaid by {@code overrides}. */
    public static Config load(Path file, List<String> overrides) {
        Map<String, Object> tree = defaultTree();
        if (file != null) {
            merge(tree, readFile(file), "", file.toString());
        }
        applyOverrides(tree, overrides);
        return bind(tree).validate();
    }

    /**
     * Keys added to defaults.yaml after runs began recording their configs: a run's config.yaml
     * written before a key existed lacks it, and it then takes its default (the old behaviour).
     */
    static final java.util.Set<String> ADDED_LATER = java.util.Set.of("run.replicas", "run.gpus", "train.tensorboard",
            "model.qk_dim", "model.v_dim", "train.precision");

    /**
     * A config a run recorded ({@code config.yaml} of a run directory, or a checkpoint's copy):
     * loaded as {@link #load}, and refused when it lacks a key, since a run writes every key (so a
     * file cut short, or edited down, would silently become a default GPT-2 small run).
     */
    @SuppressWarnings("unchecked")
    public static Config loadRecorded(Path file, List<String> overrides) {
        Object tree = readFile(file);
        merge(defaultTree(), tree, "", file.toString()); // an unknown key or a misplaced section is said first
        Map<String, Object> given = asMap(tree, file.toString());
        List<String> missing = new java.util.ArrayList<>();
        for (Map.Entry<String, Object> section : defaultTree().entrySet()) {
            Object s = given.get(section.getKey());
            for (String key : ((Map<String, Object>) section.getValue()).keySet()) {
                String dotted = section.getKey() + "." + key;
                if (!(s instanceof Map) || !((Map<String, Object>) s).containsKey(key)) {
                    if (!ADDED_LATER.contains(dotted)) {
                        missing.add(dotted);
                    }
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new UserError(file + " lacks " + missing.size() + " of the keys a run records (first: " + missing.get(0)
                    + "): it was cut short or edited; each checkpoint holds a copy (checkpoints/step-*/config.yaml)");
        }
        return load(file, withOldBehaviour(given, overrides));
    }

    /**
     * Keys added later whose default is not what runs did before the key existed: a recorded config
     * that lacks one gets this value, so an old run resumes, and an old ticket evaluates, as it was
     * computed ({@code train.precision} auto is TF32 on a GPU; before it, products were fp32).
     */
    static final Map<String, String> OLD_BEHAVIOUR = Map.of("train.precision", "fp32");

    /** {@code overrides}, after the old-behaviour value of every {@link #OLD_BEHAVIOUR} key {@code recorded} lacks. */
    @SuppressWarnings("unchecked")
    private static List<String> withOldBehaviour(Map<String, Object> recorded, List<String> overrides) {
        List<String> out = new java.util.ArrayList<>();
        for (Map.Entry<String, String> e : OLD_BEHAVIOUR.entrySet()) {
            String[] key = e.getKey().split("\\.");
            Object section = recorded.get(key[0]);
            if (!(section instanceof Map) || !((Map<String, Object>) section).containsKey(key[1])) {
                out.add(e.getKey() + "=" + e.getValue());
            }
        }
        if (overrides != null) {
            out.addAll(overrides); // the user's come last and win
        }
        return out;
    }

    /** Defaults, overlaid by YAML {@code text} (a config stored inside a file such as a ticket), overlaid by overrides. */
    public static Config loadText(String text, String source, List<String> overrides) {
        Map<String, Object> tree = defaultTree();
        try {
            JsonNode node = YAML.readTree(text);
            Object recorded = node != null && !node.isMissingNode() && !node.isNull()
                    ? YAML.convertValue(node, Object.class) : Map.of();
            merge(tree, recorded, "", source);
            overrides = withOldBehaviour(asMap(recorded, source), overrides);
        } catch (JsonProcessingException e) {
            throw new UserError("the config in " + source + " is not valid YAML: "
                    + e.getOriginalMessage().lines().findFirst().orElse(""));
        }
        applyOverrides(tree, overrides);
        return bind(tree).validate();
    }

    /** Applies {@code key=value} overrides (value parsed as a YAML scalar) to a config tree. */
    public static void applyOverrides(Map<String, Object> tree, List<String> overrides) {
        for (String kv : overrides == null ? List.<String>of() : overrides) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new UserError("bad override '" + kv + "': write it as section.key=value, e.g. train.lr=3e-4");
            }
            String key = kv.substring(0, eq).trim();
            String[] path = key.split("\\.");
            if (path.length != 2) {
                throw new UserError("bad key '" + key + "' in override " + kv + ": keys have the form section.key, e.g. slt.qk_scale");
            }
            Map<String, Object> section = section(tree, path[0], "override " + kv);
            if (!section.containsKey(path[1])) {
                throw unknownKey(key, section.keySet(), "override " + kv);
            }
            section.put(path[1], parseScalar(kv.substring(eq + 1).trim()));
        }
    }

    /** The config as YAML, every key present, enums lower-case (what a run directory stores). */
    public static String toYaml(Config config) {
        try {
            return YAML.writeValueAsString(config);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write config", e);
        }
    }

    /** Dotted keys whose values differ between two configs, in defaults order. */
    @SuppressWarnings("unchecked")
    public static List<String> diff(Config a, Config b) {
        Map<String, Object> ta = toTree(a);
        Map<String, Object> tb = toTree(b);
        List<String> out = new java.util.ArrayList<>();
        for (Map.Entry<String, Object> section : ta.entrySet()) {
            Map<String, Object> sa = (Map<String, Object>) section.getValue();
            Map<String, Object> sb = (Map<String, Object>) tb.get(section.getKey());
            for (Map.Entry<String, Object> e : sa.entrySet()) {
                if (!java.util.Objects.equals(e.getValue(), sb.get(e.getKey()))) {
                    out.add(section.getKey() + "." + e.getKey());
                }
            }
        }
        return out;
    }

    /** The config as a nested map with snake_case keys (for JSON summaries). */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> toTree(Config config) {
        return YAML.convertValue(config, Map.class);
    }

    static Map<String, Object> defaultTree() {
        try (InputStream in = ConfigLoader.class.getResourceAsStream("defaults.yaml")) {
            return asMap(YAML.readValue(in, Object.class), "defaults.yaml");
        } catch (IOException e) {
            throw new IllegalStateException("built-in defaults.yaml is unreadable", e);
        }
    }

    private static Object readFile(Path file) {
        if (Files.isDirectory(file)) {
            throw new UserError("config file " + file + " is a directory: pass a YAML file, e.g. configs/quickstart.yaml");
        }
        if (!Files.exists(file)) {
            throw new UserError("config file " + file + " not found: pass an existing YAML file, e.g. configs/quickstart.yaml");
        }
        if (!Files.isRegularFile(file)) {
            throw new UserError("config file " + file + " is not a regular file (a device, a pipe): pass a YAML file, "
                    + "e.g. configs/quickstart.yaml");
        }
        try {
            JsonNode tree = readOneDocument(YAML, file, "config file");
            if (tree == null || tree.isMissingNode() || tree.isNull() || tree.isObject() && tree.isEmpty()) {
                throw new UserError("config file " + file + " is empty: it would silently mean the defaults (the paper's "
                        + "GPT-2 small, 50 epochs); write the keys you mean, e.g. start from configs/quickstart.yaml");
            }
            return YAML.convertValue(tree, Object.class);
        } catch (NoSuchFileException e) {
            throw new UserError("config file " + file + " not found");
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            String twice = duplicateKey(e);
            if (twice != null) {
                throw new UserError("config file " + file + " gives key '" + twice + "' twice" + where
                        + ": keep one (sections too: merge their keys under one heading)");
            }
            throw new UserError("config file " + file + " is not valid YAML" + where + ": "
                    + e.getOriginalMessage().lines().findFirst().orElse("")
                    + " (a config is a YAML mapping of sections, like configs/quickstart.yaml)");
        } catch (IOException e) {
            throw new UserError("cannot read config file " + file + ": " + e.getMessage());
        }
    }

    /**
     * The one YAML document of {@code file} (null when it holds none). A second document (after a
     * {@code ---} line) is refused: every reader here would otherwise silently ignore it.
     */
    public static JsonNode readOneDocument(ObjectMapper yaml, Path file, String what) throws IOException {
        List<JsonNode> docs = new java.util.ArrayList<>();
        try (com.fasterxml.jackson.core.JsonParser p = yaml.getFactory().createParser(file.toFile())) {
            while (p.nextToken() != null) { // one root value per document (a top-level list stays one value)
                JsonNode d = yaml.readTree(p);
                if (d != null && !d.isMissingNode() && !d.isNull() && !(d.isTextual() && d.asText().isEmpty())) {
                    docs.add(d);
                }
            }
        }
        if (docs.size() > 1) {
            throw new UserError(what + " " + file + " holds " + docs.size() + " YAML documents (separated by ---): "
                    + "only one is read; merge them into one, or split them into separate files");
        }
        return docs.isEmpty() ? null : docs.get(0);
    }

    /**
     * The key a YAML file gives twice, when that is why reading it failed (mappers built with
     * {@code FAIL_ON_READING_DUP_TREE_KEY}), else null.
     */
    public static String duplicateKey(JsonProcessingException e) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("Duplicate field '([^']*)'").matcher(e.getOriginalMessage());
        return m.find() ? m.group(1) : null;
    }

    /** Overlays {@code over} onto {@code base}; every key of {@code over} must exist in base. */
    @SuppressWarnings("unchecked")
    private static void merge(Map<String, Object> base, Object over, String prefix, String source) {
        Map<String, Object> o = asMap(over, source);
        for (Map.Entry<String, Object> e : o.entrySet()) {
            String key = prefix + e.getKey();
            if (!base.containsKey(e.getKey())) {
                throw unknownKey(key, base.keySet(), source);
            }
            Object current = base.get(e.getKey());
            if (current instanceof Map) {
                if (!(e.getValue() instanceof Map)) {
                    throw new UserError("config key '" + key + "' in " + source + " is a section: give it keys, e.g. "
                            + key + ": {" + ((Map<String, Object>) current).keySet().iterator().next() + ": ...}");
                }
                merge((Map<String, Object>) current, e.getValue(), key + ".", source);
            } else {
                if (e.getValue() instanceof Map || e.getValue() instanceof List) {
                    throw new UserError("config key '" + key + "' in " + source + " takes a single value, not a list or section");
                }
                base.put(e.getKey(), e.getValue());
            }
        }
    }

    private static UserError unknownKey(String key, java.util.Set<String> known, String source) {
        return new UserError("unknown config key '" + key + "' in " + source + ": known keys here are "
                + String.join(", ", known));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> section(Map<String, Object> tree, String name, String source) {
        Object s = tree.get(name);
        if (!(s instanceof Map)) {
            throw new UserError("unknown config section '" + name + "' in " + source + ": sections are "
                    + String.join(", ", tree.keySet()));
        }
        return (Map<String, Object>) s;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object tree, String source) {
        if (!(tree instanceof Map)) {
            throw new UserError(source + " must be a YAML mapping of sections (run, model, slt, data, train)");
        }
        return (Map<String, Object>) tree;
    }

    private static Object parseScalar(String text) {
        try {
            return YAML.readValue(text.isEmpty() ? "null" : text, Object.class);
        } catch (JsonProcessingException e) {
            return text;
        }
    }

    static Config bind(Map<String, Object> tree) {
        try {
            return YAML.convertValue(tree, Config.class);
        } catch (IllegalArgumentException e) {
            throw describe(e, tree);
        }
    }

    /** The value at a dotted key of a config tree, or null. */
    @SuppressWarnings("unchecked")
    private static Object valueAt(Map<String, Object> tree, String key) {
        Object node = tree;
        for (String part : key.split("\\.")) {
            if (!(node instanceof Map)) {
                return null;
            }
            node = ((Map<String, Object>) node).get(part);
        }
        return node;
    }

    private static UserError describe(IllegalArgumentException e, Map<String, Object> tree) {
        Throwable cause = e.getCause() instanceof JsonMappingException ? e.getCause() : e;
        if (!(cause instanceof JsonMappingException jme)) {
            return new UserError("bad config: " + e.getMessage());
        }
        String key = jme.getPath().stream()
                .map(r -> r.getFieldName() == null ? "[" + r.getIndex() + "]" : r.getFieldName())
                .collect(Collectors.joining("."));
        if (jme instanceof InvalidFormatException ife) {
            Class<?> target = ife.getTargetType();
            String expected = target.isEnum()
                    ? "one of " + Arrays.stream(target.getEnumConstants())
                            .map(c -> c.toString().toLowerCase(java.util.Locale.ROOT))
                            .collect(Collectors.joining(", "))
                    : "a " + simpleType(target);
            return new UserError("bad config: key '" + key + "' is '" + ife.getValue() + "', expected " + expected);
        }
        String msg = jme.getOriginalMessage().lines().findFirst().orElse("");
        if (msg.contains("`null`") || msg.toLowerCase(java.util.Locale.ROOT).contains("null_for_primitives")) {
            return new UserError("bad config: key '" + key + "' must not be empty or null: give it a value");
        }
        if (msg.contains("out of range of")) {
            return new UserError("bad config: key '" + key + "' is too large for a " + (msg.contains("range of int")
                    ? "whole number (at most 2147483647)" : "number") + ": give a smaller value");
        }
        if (jme instanceof com.fasterxml.jackson.databind.exc.MismatchedInputException mie && mie.getTargetType() != null) {
            Object given = valueAt(tree, key);
            if (given != null && !(given instanceof Map) && !(given instanceof List)) { // e.g. train.epochs=true
                return new UserError("bad config: key '" + key + "' is '" + given + "', expected a "
                        + simpleType(mie.getTargetType()));
            }
            return new UserError("bad config: key '" + key + "' takes a single " + simpleType(mie.getTargetType())
                    + ", not a list or section");
        }
        return new UserError("bad config: key '" + key + "': " + msg);
    }

    private static String simpleType(Class<?> c) {
        if (c == int.class || c == Integer.class || c == long.class || c == Long.class) {
            return "whole number";
        }
        if (c == double.class || c == Double.class || c == float.class) {
            return "number";
        }
        if (c == boolean.class || c == Boolean.class) {
            return "boolean (true or false)";
        }
        return c.getSimpleName().toLowerCase(java.util.Locale.ROOT);
    }

    /** A JSON mapper with the same conventions (snake_case, lower-case enums), for run files. */
    public static ObjectMapper json() {
        return JsonMapper.builder()
                .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(EnumFeature.WRITE_ENUMS_TO_LOWERCASE)
                .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
                .build();
    }
}
