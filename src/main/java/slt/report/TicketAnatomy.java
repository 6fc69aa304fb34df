package slt.report;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import slt.UserError;
import slt.model.Gpt2;
import slt.model.Host;
import slt.model.MaskedBlock;
import slt.model.ModelSpec;

/**
 * The anatomy of a strong lottery ticket: where its masks keep weights, and how the masks relate
 * to the scores that chose them and to the frozen weights they keep.
 *
 * <p>Numbers, all exact counts of the current 0/1 masks (no sampling):
 * <ul>
 *   <li>density (kept fraction) per tensor, per projection kind over all layers (Q, K, V,
 *       attention output O, MLP in, MLP out, token and position embedding), per layer, and per
 *       head of Q, K, V (rows {@code h*n..(h+1)*n} of each block of the fused {@code c_attn},
 *       torch (out, in) layout, n = qk_dim for Q and K, v_dim for V; see {@link ModelSpec#qkvRows()})
 *       and of O (the input <em>columns</em> {@code h*v_dim..(h+1)*v_dim} of {@code attn.c_proj},
 *       which read head h's output);</li>
 *   <li>score statistics per tensor (and per Q/K/V block): mean, population std, min, max of the
 *       signed scores, and the mask's |score| threshold (the smallest |score| the tensor keeps:
 *       with per-tensor top-k the k-th largest |score|); only for a run's checkpoint, since a
 *       ticket holds masks, not scores;</li>
 *   <li>for every layer and head of Q, K, V and O: the precision of "the mask keeps the largest
 *       weights", i.e. the fraction of kept entries that are also among the k largest |weight| of
 *       the same slice (k = the slice's kept count, ties to the lowest index; 1 = pure magnitude
 *       pruning, a random mask gives about the density), and the mean |weight| of kept and of
 *       pruned entries.</li>
 * </ul>
 *
 * <p>Counts and score statistics run as DJL ops on the model's device (float64 for the
 * statistics); per-head numbers are computed in Java from one tensor's float arrays at a time
 * (only the {@code c_attn} and {@code attn.c_proj} of one layer at a time are copied to the host).
 */
public final class TicketAnatomy {

    /** A projection kind; {@link #QKV} names the fused {@code c_attn} tensor as a whole. */
    public enum Kind {
        Q("Q", "query"),
        K("K", "key"),
        V("V", "value"),
        O("O", "attention output"),
        MLP_IN("MLP in", "MLP first layer, c_fc"),
        MLP_OUT("MLP out", "MLP second layer, c_proj"),
        WTE("wte", "token embedding"),
        WPE("wpe", "position embedding"),
        QKV("QKV", "fused Q/K/V (c_attn)");

        private final String label;
        private final String description;

        Kind(String label, String description) {
            this.label = label;
            this.description = description;
        }

        /** Short label for tables and charts ("Q", "MLP in", "wte"). */
        public String label() {
            return label;
        }

        /** What it is, in words ("query", "attention output", "token embedding"). */
        public String description() {
            return description;
        }

        /** The name used in anatomy.csv ("q", "mlp_in", ...). */
        public String csvName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The projection kinds whose density is reported across layers, in report order. */
    public static final List<Kind> PROJECTIONS =
            List.of(Kind.Q, Kind.K, Kind.V, Kind.O, Kind.MLP_IN, Kind.MLP_OUT, Kind.WTE, Kind.WPE);

    /** The kinds with per-head numbers. */
    public static final List<Kind> HEAD_KINDS = List.of(Kind.Q, Kind.K, Kind.V, Kind.O);

    /** Marks "all layers / all heads" or "not applicable" in {@link Row#layer()} and {@link Row#head()}. */
    public static final int ALL = -1;

    /**
     * What a row aggregates: the whole model; one projection kind over all layers; one layer
     * (its four tensors, embeddings excluded); one tensor; one Q/K/V row block of a fused
     * {@code c_attn}; one head of Q, K, V or O.
     */
    public enum Level { MODEL, KIND, LAYER, TENSOR, BLOCK, HEAD }

    /**
     * Statistics of the signed scores of a slice, and the |score| threshold of its tensor's mask.
     *
     * @param std population standard deviation
     * @param threshold smallest |score| among the kept entries of the whole tensor (NaN if none is kept)
     */
    public record Scores(double mean, double std, double min, double max, double threshold) {}

    /**
     * How a slice's mask relates to the magnitude of its frozen weights.
     *
     * @param precision fraction of kept entries that are among the slice's k largest |weight|
     *     (k = kept count; NaN when nothing is kept); a random mask gives about the density
     * @param meanAbsKept mean |weight| of kept entries (NaN when none)
     * @param meanAbsPruned mean |weight| of pruned entries (NaN when none)
     */
    public record Magnitude(double precision, double meanAbsKept, double meanAbsPruned) {}

    /**
     * One line of the anatomy.
     *
     * @param kind null for MODEL and LAYER rows
     * @param layer the layer, or {@link #ALL} (all layers, or an embedding)
     * @param head the head, or {@link #ALL}
     * @param tensor the tensor's name for TENSOR, BLOCK and HEAD rows, else ""
     * @param scores null where not computed, and always for a ticket
     * @param magnitude null except for layers and heads of Q, K, V, O
     */
    public record Row(Level level, Kind kind, int layer, int head, String tensor, long numel, long kept,
            Scores scores, Magnitude magnitude) {
        /** Kept fraction. */
        public double density() {
            return numel == 0 ? Double.NaN : (double) kept / numel;
        }
    }

    private static final Pattern LAYER_TENSOR = Pattern.compile("h\\.(\\d+)\\.(attn\\.c_attn|attn\\.c_proj|mlp\\.c_fc|mlp\\.c_proj)");

    private final String source;
    private final long step;
    private final ModelSpec spec;
    private final boolean withScores;
    private final List<Row> rows;
    private final List<String> unmasked;

    private TicketAnatomy(String source, long step, ModelSpec spec, boolean withScores, List<Row> rows, List<String> unmasked) {
        this.source = source;
        this.step = step;
        this.spec = spec;
        this.withScores = withScores;
        this.rows = Collections.unmodifiableList(rows);
        this.unmasked = Collections.unmodifiableList(unmasked);
    }

    /**
     * The anatomy of {@code model}'s current masks.
     *
     * @param source where the model came from, for the report's title
     * @param step the step the masks are from
     * @param withScores whether the model's scores are the trained ones (a run's checkpoint); false
     *     for a ticket, whose scores are only their initial values
     * @throws UserError for a dense model, which has no masks
     */
    public static TicketAnatomy of(Gpt2 model, String source, long step, boolean withScores) {
        ModelSpec spec = model.spec();
        List<Row> tensorRows = new ArrayList<>(); // TENSOR, BLOCK and HEAD rows in model order
        List<String> unmasked = new ArrayList<>();
        for (MaskedBlock w : model.weights()) {
            if (w.role() == MaskedBlock.Role.TRAINED) {
                throw new UserError("a dense model (slt.mode: dense) has no masks to inspect: its weights were trained");
            }
            if (w.role() == MaskedBlock.Role.FROZEN) {
                unmasked.add(w.name());
                continue;
            }
            if (w.mask() == null) {
                throw new IllegalStateException(w.name() + " has no mask yet (MaskSelector.update has not run)");
            }
            Kind kind;
            int layer = ALL;
            if (w.name().equals("wte")) {
                kind = Kind.WTE;
            } else if (w.name().equals("wpe")) {
                kind = Kind.WPE;
            } else {
                Matcher m = LAYER_TENSOR.matcher(w.name());
                if (!m.matches()) {
                    throw new IllegalStateException("unknown tensor " + w.name());
                }
                layer = Integer.parseInt(m.group(1));
                kind = switch (m.group(2)) {
                    case "attn.c_attn" -> Kind.QKV;
                    case "attn.c_proj" -> Kind.O;
                    case "mlp.c_fc" -> Kind.MLP_IN;
                    default -> Kind.MLP_OUT;
                };
            }
            tensorRows.addAll(analyseTensor(w, kind, layer, spec, withScores));
        }
        if (tensorRows.isEmpty()) {
            throw new UserError("the model has no masked weights: nothing to inspect");
        }
        List<Row> rows = new ArrayList<>();
        rows.add(sum(Level.MODEL, null, ALL, tensorRows.stream().filter(r -> r.level() == Level.TENSOR).toList()));
        for (Kind k : PROJECTIONS) {
            List<Row> parts = tensorRows.stream().filter(r -> r.kind() == k
                    && (r.level() == Level.TENSOR || r.level() == Level.BLOCK)).toList();
            if (!parts.isEmpty()) {
                rows.add(sum(Level.KIND, k, ALL, parts));
            }
        }
        for (int i = 0; i < spec.nLayer(); i++) {
            int layer = i;
            rows.add(sum(Level.LAYER, null, layer, tensorRows.stream()
                    .filter(r -> r.level() == Level.TENSOR && r.layer() == layer).toList()));
        }
        rows.addAll(tensorRows);
        return new TicketAnatomy(source, step, spec, withScores, rows, unmasked);
    }

    /** The rows of one masked tensor: the tensor, and for c_attn its Q/K/V blocks; heads of Q, K, V, O. */
    private static List<Row> analyseTensor(MaskedBlock w, Kind kind, int layer, ModelSpec spec, boolean withScores) {
        int d = spec.dModel();
        int nHead = spec.nHead();
        List<Row> out = new ArrayList<>();
        String name = w.name();
        try (NDScope scope = new NDScope()) {
            NDArray mask = w.mask();
            NDArray keptBool = mask.toType(DataType.BOOLEAN, false);
            NDArray scores = withScores ? w.scores().getArray().stopGradient() : null;
            double threshold = Double.NaN;
            if (withScores) {
                NDArray keptAbs = scores.abs().get(keptBool);
                threshold = keptAbs.size() == 0 ? Double.NaN : Host.value(keptAbs.min());
            }
            Magnitude tensorMagnitude = null;
            float[] weight = null;
            float[] maskValues = null;
            if (kind == Kind.QKV || kind == Kind.O) {
                weight = Host.floats(w.weight().getArray());
                maskValues = Host.floats(mask.toType(DataType.FLOAT32, false));
                if (kind == Kind.O) {
                    tensorMagnitude = magnitude(weight, maskValues);
                }
            }
            out.add(new Row(Level.TENSOR, kind, layer, ALL, name, mask.size(), count(keptBool),
                    withScores ? scoreStats(scores, threshold) : null, tensorMagnitude));
            if (kind == Kind.QKV) {
                Kind[] blocks = {Kind.Q, Kind.K, Kind.V};
                for (int b = 0; b < 3; b++) {
                    int first = spec.qkvBlockStart(b);
                    int rows = spec.qkvBlockRows(b);
                    int blockSize = rows * d;
                    String rowsRange = first + ":" + (first + rows);
                    Magnitude mag = magnitude(Arrays.copyOfRange(weight, first * d, first * d + blockSize),
                            Arrays.copyOfRange(maskValues, first * d, first * d + blockSize));
                    out.add(new Row(Level.BLOCK, blocks[b], layer, ALL, name, blockSize, count(keptBool.get(rowsRange)),
                            withScores ? scoreStats(scores.get(rowsRange), threshold) : null, mag));
                }
                for (int b = 0; b < 3; b++) {
                    int hd = spec.qkvBlockRows(b) / nHead; // qk_dim for Q and K, v_dim for V
                    int headSize = hd * d;
                    for (int h = 0; h < nHead; h++) {
                        int from = (spec.qkvBlockStart(b) + h * hd) * d; // the head's hd rows, all d columns
                        out.add(headRow(blocks[b], layer, h, name,
                                Arrays.copyOfRange(weight, from, from + headSize),
                                Arrays.copyOfRange(maskValues, from, from + headSize)));
                    }
                }
            } else if (kind == Kind.O) {
                int hd = spec.vDim();
                int width = spec.attnOutputWidth(); // input columns of attn.c_proj
                for (int h = 0; h < nHead; h++) {
                    float[] hw = new float[d * hd];
                    float[] hm = new float[d * hd];
                    for (int r = 0; r < d; r++) { // input columns h*v_dim .. + v_dim of every output row
                        System.arraycopy(weight, r * width + h * hd, hw, r * hd, hd);
                        System.arraycopy(maskValues, r * width + h * hd, hm, r * hd, hd);
                    }
                    out.add(headRow(Kind.O, layer, h, name, hw, hm));
                }
            }
        }
        return out;
    }

    private static Row headRow(Kind kind, int layer, int head, String tensor, float[] weight, float[] mask) {
        long kept = 0;
        for (float m : mask) {
            if (m != 0) {
                kept++;
            }
        }
        return new Row(Level.HEAD, kind, layer, head, tensor, mask.length, kept, null, magnitude(weight, mask));
    }

    private static long count(NDArray bool) {
        return Host.longValue(bool.toType(DataType.INT64, false).sum());
    }

    private static Scores scoreStats(NDArray scores, double threshold) {
        NDArray s = scores.toType(DataType.FLOAT64, false);
        NDArray mean = s.mean();
        double std = Math.sqrt(Host.value(s.sub(mean).square().mean()));
        return new Scores(Host.value(mean), std, Host.value(s.min()), Host.value(s.max()), threshold);
    }

    /**
     * Precision of "mask = the largest |weight|" and mean |weight| of kept and pruned entries, for
     * one slice given as float arrays (an entry is kept when its mask value is not 0).
     */
    public static Magnitude magnitude(float[] weight, float[] mask) {
        int n = weight.length;
        float[] a = new float[n];
        long k = 0;
        double sumKept = 0;
        double sumPruned = 0;
        for (int i = 0; i < n; i++) {
            a[i] = Math.abs(weight[i]);
            if (mask[i] != 0) {
                k++;
                sumKept += a[i];
            } else {
                sumPruned += a[i];
            }
        }
        double precision = Double.NaN;
        if (k > 0) {
            float[] sorted = a.clone();
            Arrays.sort(sorted);
            float t = sorted[(int) (n - k)]; // the k-th largest |weight|
            long above = 0;
            for (float x : a) {
                if (x > t) {
                    above++;
                }
            }
            long ties = k - above; // entries equal to t that are among the top k: the first ones
            long overlap = 0;
            for (int i = 0; i < n; i++) {
                boolean top = a[i] > t || (a[i] == t && ties-- > 0);
                if (top && mask[i] != 0) {
                    overlap++;
                }
            }
            precision = (double) overlap / k;
        }
        return new Magnitude(precision, k > 0 ? sumKept / k : Double.NaN, k < n ? sumPruned / (n - k) : Double.NaN);
    }

    private static Row sum(Level level, Kind kind, int layer, List<Row> parts) {
        long numel = 0;
        long kept = 0;
        for (Row r : parts) {
            numel += r.numel();
            kept += r.kept();
        }
        return new Row(level, kind, layer, ALL, "", numel, kept, null, null);
    }

    /** Where the masks came from (a checkpoint directory or a ticket file). */
    public String source() {
        return source;
    }

    public long step() {
        return step;
    }

    public ModelSpec spec() {
        return spec;
    }

    /** Whether score statistics were computed (a run's checkpoint; never for a ticket). */
    public boolean withScores() {
        return withScores;
    }

    /** Every row: MODEL, KIND rows, LAYER rows, then per tensor its TENSOR, BLOCK and HEAD rows. */
    public List<Row> rows() {
        return rows;
    }

    /** Names of tensors used unmasked (embeddings with {@code slt.mask_embeddings: false}). */
    public List<String> unmasked() {
        return unmasked;
    }

    /** The row of this level, kind, layer and head, if any. */
    public Optional<Row> find(Level level, Kind kind, int layer, int head) {
        return rows.stream().filter(r -> r.level() == level && r.kind() == kind && r.layer() == layer && r.head() == head)
                .findFirst();
    }

    /** The whole model's row. */
    public Row total() {
        return find(Level.MODEL, null, ALL, ALL).orElseThrow();
    }

    /** The row of a projection kind over all layers, if that kind is masked. */
    public Optional<Row> kind(Kind kind) {
        return find(Level.KIND, kind, ALL, ALL);
    }

    /** The row of one layer (its four tensors). */
    public Row layer(int layer) {
        return find(Level.LAYER, null, layer, ALL).orElseThrow();
    }

    /** One kind in one layer: the Q/K/V block of c_attn, or the tensor itself (O, MLP in/out, embeddings with layer ALL). */
    public Optional<Row> part(Kind kind, int layer) {
        return find(kind == Kind.Q || kind == Kind.K || kind == Kind.V ? Level.BLOCK : Level.TENSOR, kind, layer, ALL);
    }

    /** One head of Q, K, V or O. */
    public Row head(Kind kind, int layer, int head) {
        return find(Level.HEAD, kind, layer, head).orElseThrow(() ->
                new IllegalArgumentException("no head " + head + " of " + kind + " in layer " + layer));
    }

    /** Per-head density of Q, K, V or O as [layer][head]. */
    public double[][] headDensity(Kind kind) {
        double[][] out = new double[spec.nLayer()][spec.nHead()];
        for (int l = 0; l < out.length; l++) {
            for (int h = 0; h < out[l].length; h++) {
                out[l][h] = head(kind, l, h).density();
            }
        }
        return out;
    }

    /** The TENSOR rows, in model order. */
    public List<Row> tensors() {
        return rows.stream().filter(r -> r.level() == Level.TENSOR).toList();
    }
}
