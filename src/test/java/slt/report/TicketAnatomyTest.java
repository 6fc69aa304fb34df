package slt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.TestRuns;
import slt.UserError;
import slt.checkpoint.Ticket;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.model.Gpt2;
import slt.model.MaskedBlock;
import slt.model.ModelSpec;
import slt.report.TicketAnatomy.Kind;
import slt.report.TicketAnatomy.Level;
import slt.report.TicketAnatomy.Magnitude;
import slt.report.TicketAnatomy.Row;
import slt.train.LoadedModel;

/**
 * {@link TicketAnatomy} on a small model whose masks are set by hand: every reported number is
 * recomputed here, independently, from the masks, weights and scores.
 */
class TicketAnatomyTest {
    private static final int D = 128;
    private static final int HD = 64;
    private static final int HEADS = 2;
    private static final int LAYERS = 2;

    @TempDir
    Path tmp;

    static ModelSpec spec(Config.Mode mode, boolean maskEmbeddings) {
        return new ModelSpec(LAYERS, HEADS, HEADS * HD, HD, HD, 16, 101, 0.02, 0.02, 2.83, 1.0, 1e-5, mode, maskEmbeddings,
                0.5, Config.Scope.TENSOR, 1.0, 11);
    }

    static Map<String, MaskedBlock> byName(Gpt2 model) {
        Map<String, MaskedBlock> out = new HashMap<>();
        for (MaskedBlock b : model.weights()) {
            out.put(b.name(), b);
        }
        return out;
    }

    /**
     * Masks with a known structure, on top of MaskSelector's (density 0.5 elsewhere):
     * layer 0: Q head 0 all kept, Q head 1 nothing; K a random mask of density 0.3; V head 0 every
     * 4th entry, V head 1 all; O keeps exactly the input columns of head 1.
     * layer 1: K keeps exactly its 40 % largest |weight|; Q random 0.6; V nothing.
     */
    static void setKnownMasks(Gpt2 model) {
        model.refreshMasks();
        Map<String, MaskedBlock> w = byName(model);
        SplittableRandom rng = new SplittableRandom(5);

        MaskedBlock attn0 = w.get("h.0.attn.c_attn");
        float[] m0 = new float[3 * D * D];
        for (int r = 0; r < 3 * D; r++) {
            for (int c = 0; c < D; c++) {
                int i = r * D + c;
                if (r < HD) {
                    m0[i] = 1; // Q head 0
                } else if (r < D) {
                    m0[i] = 0; // Q head 1
                } else if (r < 2 * D) {
                    m0[i] = rng.nextDouble() < 0.3 ? 1 : 0; // K: random
                } else if (r < 2 * D + HD) {
                    m0[i] = i % 4 == 0 ? 1 : 0; // V head 0
                } else {
                    m0[i] = 1; // V head 1
                }
            }
        }
        set(model, attn0, m0);

        MaskedBlock proj0 = w.get("h.0.attn.c_proj");
        float[] o = new float[D * D];
        for (int r = 0; r < D; r++) {
            for (int c = HD; c < D; c++) {
                o[r * D + c] = 1; // input columns of head 1
            }
        }
        set(model, proj0, o);

        MaskedBlock attn1 = w.get("h.1.attn.c_attn");
        float[] weight1 = attn1.weight().getArray().toFloatArray();
        float[] m1 = new float[3 * D * D];
        for (int i = 0; i < D * D; i++) {
            m1[i] = rng.nextDouble() < 0.6 ? 1 : 0; // Q: random
        }
        int k = (int) Math.round(0.4 * D * D);
        Integer[] kIdx = IntStream.range(D * D, 2 * D * D).boxed().toArray(Integer[]::new);
        Arrays.sort(kIdx, Comparator.comparingDouble((Integer i) -> -Math.abs(weight1[i])));
        for (int j = 0; j < k; j++) {
            m1[kIdx[j]] = 1; // K: the k largest |weight|
        }
        set(model, attn1, m1); // V stays 0
    }

    private static void set(Gpt2 model, MaskedBlock b, float[] mask) {
        boolean[] kept = new boolean[mask.length];
        for (int i = 0; i < mask.length; i++) {
            kept[i] = mask[i] != 0;
        }
        b.setMask(model.kernels(), b.weight().getArray().getManager().create(kept, b.weight().getShape()));
    }

    // ------------------------------------------------------------------ independent recomputation

    /** Entries of one (kind, layer, head) slice as flat indices into its tensor (head -1 = all heads). */
    static int[] slice(Kind kind, int head) {
        List<Integer> idx = new ArrayList<>();
        int h0 = head < 0 ? 0 : head;
        int h1 = head < 0 ? HEADS : head + 1;
        for (int h = h0; h < h1; h++) {
            if (kind == Kind.O) {
                for (int r = 0; r < D; r++) {
                    for (int c = h * HD; c < (h + 1) * HD; c++) {
                        idx.add(r * D + c);
                    }
                }
            } else {
                int block = kind == Kind.Q ? 0 : kind == Kind.K ? 1 : 2;
                for (int r = block * D + h * HD; r < block * D + (h + 1) * HD; r++) {
                    for (int c = 0; c < D; c++) {
                        idx.add(r * D + c);
                    }
                }
            }
        }
        return idx.stream().mapToInt(Integer::intValue).toArray();
    }

    static String tensorOf(Kind kind, int layer) {
        return "h." + layer + (kind == Kind.O ? ".attn.c_proj" : ".attn.c_attn");
    }

    /** Kept count over flat indices. */
    static long kept(float[] mask, int[] idx) {
        long k = 0;
        for (int i : idx) {
            k += mask[i] != 0 ? 1 : 0;
        }
        return k;
    }

    /** Precision by a plain sort of indices (|weight| descending, then index ascending). */
    static double precision(float[] weight, float[] mask, int[] idx) {
        long k = kept(mask, idx);
        if (k == 0) {
            return Double.NaN;
        }
        Integer[] order = Arrays.stream(idx).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -Math.abs(weight[i])).thenComparingInt(i -> i));
        long overlap = 0;
        for (int j = 0; j < k; j++) {
            overlap += mask[order[j]] != 0 ? 1 : 0;
        }
        return (double) overlap / k;
    }

    static double meanAbs(float[] weight, float[] mask, int[] idx, boolean keptOnes) {
        double s = 0;
        long n = 0;
        for (int i : idx) {
            if ((mask[i] != 0) == keptOnes) {
                s += Math.abs(weight[i]);
                n++;
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    static void assertClose(double want, double got, String what) {
        if (Double.isNaN(want)) {
            assertTrue(Double.isNaN(got), what + ": want NaN, got " + got);
        } else {
            assertEquals(want, got, 1e-9 * Math.max(1e-6, Math.abs(want)), what);
        }
    }

    // ------------------------------------------------------------------ tests

    @Test
    void everyDensityMagnitudeAndScoreNumberMatchesAnIndependentRecomputation() {
        try (NDManager nm = NDManager.newBaseManager()) {
            Gpt2 model = Gpt2.create(spec(Config.Mode.EDGEPOPUP, true), nm);
            setKnownMasks(model);
            TicketAnatomy a = TicketAnatomy.of(model, "in-memory", 7, true);
            Map<String, MaskedBlock> w = byName(model);
            Map<String, float[]> masks = new HashMap<>();
            Map<String, float[]> weights = new HashMap<>();
            Map<String, float[]> scores = new HashMap<>();
            for (MaskedBlock b : model.weights()) {
                masks.put(b.name(), b.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray());
                weights.put(b.name(), b.weight().getArray().toFloatArray());
                scores.put(b.name(), b.scores().getArray().toFloatArray());
            }

            // the constructed cases, by value
            assertEquals(1.0, a.head(Kind.Q, 0, 0).density());
            assertEquals(0.0, a.head(Kind.Q, 0, 1).density());
            assertEquals(0.5, a.part(Kind.Q, 0).orElseThrow().density());
            assertEquals(0.25, a.head(Kind.V, 0, 0).density());
            assertEquals(1.0, a.head(Kind.V, 0, 1).density());
            assertEquals(0.0, a.head(Kind.O, 0, 0).density());
            assertEquals(1.0, a.head(Kind.O, 0, 1).density());
            assertEquals(0.0, a.part(Kind.V, 1).orElseThrow().density());
            assertEquals(Math.round(0.4 * D * D), a.part(Kind.K, 1).orElseThrow().kept());
            assertEquals(1.0, a.part(Kind.K, 1).orElseThrow().magnitude().precision(), "K of layer 1 keeps the largest |weight|");
            for (int h = 0; h < HEADS; h++) {
                assertEquals(1.0, a.head(Kind.K, 1, h).magnitude().precision(), "so does each of its heads");
                Row k0 = a.head(Kind.K, 0, h);
                assertEquals(k0.density(), k0.magnitude().precision(), 0.04, "a random mask: precision ~ density");
                assertTrue(k0.density() > 0.27 && k0.density() < 0.33, "random K density " + k0.density());
            }
            Row kRandom = a.part(Kind.K, 0).orElseThrow();
            assertEquals(kRandom.density(), kRandom.magnitude().precision(), 0.03);
            Row k1 = a.part(Kind.K, 1).orElseThrow();
            assertTrue(k1.magnitude().meanAbsKept() > 2 * k1.magnitude().meanAbsPruned(), "largest weights kept");
            assertEquals(1.0, a.head(Kind.Q, 0, 0).magnitude().precision(), "all kept: trivially the top n");
            assertTrue(Double.isNaN(a.head(Kind.Q, 0, 0).magnitude().meanAbsPruned()), "nothing pruned");
            assertTrue(Double.isNaN(a.head(Kind.Q, 0, 1).magnitude().precision()), "nothing kept: undefined");
            assertTrue(Double.isNaN(a.head(Kind.Q, 0, 1).magnitude().meanAbsKept()));

            // every head and layer block of Q, K, V, O against the independent recomputation
            for (int l = 0; l < LAYERS; l++) {
                for (Kind k : TicketAnatomy.HEAD_KINDS) {
                    String t = tensorOf(k, l);
                    for (int h = -1; h < HEADS; h++) {
                        Row r = h < 0 ? a.part(k, l).orElseThrow() : a.head(k, l, h);
                        int[] idx = slice(k, h);
                        String what = k + " layer " + l + " head " + h;
                        assertEquals(idx.length, r.numel(), what);
                        assertEquals(kept(masks.get(t), idx), r.kept(), what);
                        assertEquals(t, r.tensor());
                        Magnitude m = r.magnitude();
                        assertClose(precision(weights.get(t), masks.get(t), idx), m.precision(), what + " precision");
                        assertClose(meanAbs(weights.get(t), masks.get(t), idx, true), m.meanAbsKept(), what + " |w| kept");
                        assertClose(meanAbs(weights.get(t), masks.get(t), idx, false), m.meanAbsPruned(), what + " |w| pruned");
                    }
                }
            }

            // tensors, kinds, layers, model
            Map<Kind, long[]> perKind = new HashMap<>();
            long[][] perLayer = new long[LAYERS][2];
            long total = 0;
            long totalKept = 0;
            for (MaskedBlock b : model.weights()) {
                float[] m = masks.get(b.name());
                int[] all = IntStream.range(0, m.length).toArray();
                Row r = a.tensors().stream().filter(x -> x.tensor().equals(b.name())).findFirst().orElseThrow();
                assertEquals(m.length, r.numel());
                assertEquals(kept(m, all), r.kept(), b.name());
                total += m.length;
                totalKept += kept(m, all);
                if (b.name().startsWith("h.")) {
                    int layer = b.name().charAt(2) - '0';
                    perLayer[layer][0] += m.length;
                    perLayer[layer][1] += kept(m, all);
                }
                List<Kind> kinds = b.name().endsWith("c_attn") ? List.of(Kind.Q, Kind.K, Kind.V)
                        : List.of(b.name().equals("wte") ? Kind.WTE : b.name().equals("wpe") ? Kind.WPE
                                : b.name().endsWith("attn.c_proj") ? Kind.O : b.name().endsWith("c_fc") ? Kind.MLP_IN : Kind.MLP_OUT);
                for (Kind k : kinds) {
                    int[] idx = k == Kind.Q || k == Kind.K || k == Kind.V ? slice(k, -1) : all;
                    long[] acc = perKind.computeIfAbsent(k, x -> new long[2]);
                    acc[0] += idx.length;
                    acc[1] += kept(m, idx);
                }
                // scores: mean, population std, min, max of the signed scores; threshold = min |s| kept
                float[] s = scores.get(b.name());
                List<int[]> parts = new ArrayList<>();
                List<Row> rows = new ArrayList<>();
                parts.add(all);
                rows.add(r);
                if (b.name().endsWith("c_attn")) {
                    int layer = b.name().charAt(2) - '0';
                    for (Kind k : List.of(Kind.Q, Kind.K, Kind.V)) {
                        parts.add(IntStream.range((k.ordinal()) * D * D, (k.ordinal() + 1) * D * D).toArray());
                        rows.add(a.part(k, layer).orElseThrow());
                    }
                }
                double threshold = Double.POSITIVE_INFINITY;
                for (int i = 0; i < m.length; i++) {
                    if (m[i] != 0) {
                        threshold = Math.min(threshold, Math.abs(s[i]));
                    }
                }
                if (threshold == Double.POSITIVE_INFINITY) {
                    threshold = Double.NaN;
                }
                for (int p = 0; p < parts.size(); p++) {
                    int[] idx = parts.get(p);
                    double mean = 0;
                    double min = Double.POSITIVE_INFINITY;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int i : idx) {
                        mean += s[i];
                        min = Math.min(min, s[i]);
                        max = Math.max(max, s[i]);
                    }
                    mean /= idx.length;
                    double var = 0;
                    for (int i : idx) {
                        var += (s[i] - mean) * (s[i] - mean);
                    }
                    TicketAnatomy.Scores sc = rows.get(p).scores();
                    String what = b.name() + " part " + p;
                    assertClose(mean, sc.mean(), what + " mean");
                    assertClose(Math.sqrt(var / idx.length), sc.std(), what + " std");
                    assertEquals(min, sc.min(), what + " min");
                    assertEquals(max, sc.max(), what + " max");
                    assertClose(threshold, sc.threshold(), what + " threshold");
                }
            }
            for (Kind k : TicketAnatomy.PROJECTIONS) {
                Row r = a.kind(k).orElseThrow();
                assertEquals(perKind.get(k)[0], r.numel(), k.name());
                assertEquals(perKind.get(k)[1], r.kept(), k.name());
                assertEquals((double) perKind.get(k)[1] / perKind.get(k)[0], r.density(), k.name());
            }
            assertEquals(0.5, a.kind(Kind.WTE).orElseThrow().density(), 1.0 / (101 * D), "MaskSelector's round(0.5 n)");
            for (int l = 0; l < LAYERS; l++) {
                assertEquals(perLayer[l][0], a.layer(l).numel());
                assertEquals(perLayer[l][1], a.layer(l).kept());
            }
            assertEquals(total, a.total().numel());
            assertEquals(totalKept, a.total().kept());
            // head grids as the charts see them
            double[][] q = a.headDensity(Kind.Q);
            assertEquals(1.0, q[0][0]);
            assertEquals(0.0, q[0][1]);
            // and the CSV carries every row with those numbers
            List<String> lines = AnatomyReport.csv(a).lines().toList();
            assertEquals(String.join(",", AnatomyReport.CSV_COLUMNS), lines.get(0));
            assertEquals(a.rows().size() + 1, lines.size());
            String q01 = lines.stream().filter(x -> x.startsWith("head,q,0,1,")).findFirst().orElseThrow();
            assertTrue(q01.startsWith("head,q,0,1,h.0.attn.c_attn,8192,0,0.0,,,,,,,,"), q01);
            String k1line = lines.stream().filter(x -> x.startsWith("block,k,1,,")).findFirst().orElseThrow();
            assertEquals("1.0", k1line.split(",", -1)[13], k1line);
        }
    }

    @Test
    void perHeadNumbersFollowWidenedHeadsWithQkDimUnlikeVDim() {
        int qk = 48;
        int v = 24;
        ModelSpec spec = new ModelSpec(LAYERS, HEADS, HEADS * HD, qk, v, 16, 101, 0.02, 0.02, 2.6, 1.0, 1e-5,
                Config.Mode.EDGEPOPUP, true, 0.5, Config.Scope.TENSOR, 1.0, 12);
        try (NDManager nm = NDManager.newBaseManager()) {
            Gpt2 model = Gpt2.create(spec, nm);
            model.refreshMasks();
            Map<String, MaskedBlock> w = byName(model);
            SplittableRandom rng = new SplittableRandom(8);
            // c_attn: rows [Q: heads x qk; K: heads x qk; V: heads x v] x D columns, each head its own density
            int rows = HEADS * (2 * qk + v);
            float[] attn = new float[rows * D];
            double[] p = new double[rows];
            for (int r = 0; r < rows; r++) {
                int block = r < HEADS * qk ? 0 : r < 2 * HEADS * qk ? 1 : 2;
                int head = block < 2 ? (r - block * HEADS * qk) / qk : (r - 2 * HEADS * qk) / v;
                p[r] = 0.1 + 0.2 * block + 0.05 * head;
                for (int c = 0; c < D; c++) {
                    attn[r * D + c] = rng.nextDouble() < p[r] ? 1 : 0;
                }
            }
            set(model, w.get("h.0.attn.c_attn"), attn);
            // attn.c_proj: D rows x (heads x v) input columns; head h reads columns h*v .. (h+1)*v
            float[] proj = new float[D * HEADS * v];
            for (int i = 0; i < proj.length; i++) {
                int head = (i % (HEADS * v)) / v;
                proj[i] = rng.nextDouble() < (head == 0 ? 0.9 : 0.2) ? 1 : 0;
            }
            set(model, w.get("h.0.attn.c_proj"), proj);

            TicketAnatomy a = TicketAnatomy.of(model, "widened", 0, false);
            for (int h = 0; h < HEADS; h++) {
                int hh = h;
                long[] want = new long[4];
                for (int r = 0; r < rows; r++) {
                    int block = r < HEADS * qk ? 0 : r < 2 * HEADS * qk ? 1 : 2;
                    int head = block < 2 ? (r - block * HEADS * qk) / qk : (r - 2 * HEADS * qk) / v;
                    if (head == hh) {
                        for (int c = 0; c < D; c++) {
                            want[block] += attn[r * D + c] != 0 ? 1 : 0;
                        }
                    }
                }
                for (int r = 0; r < D; r++) {
                    for (int c = hh * v; c < (hh + 1) * v; c++) {
                        want[3] += proj[r * HEADS * v + c] != 0 ? 1 : 0;
                    }
                }
                Kind[] kinds = {Kind.Q, Kind.K, Kind.V, Kind.O};
                long[] numel = {(long) qk * D, (long) qk * D, (long) v * D, (long) D * v};
                for (int k = 0; k < 4; k++) {
                    Row row = a.head(kinds[k], 0, h);
                    assertEquals(numel[k], row.numel(), kinds[k] + " head " + h + " entries");
                    assertEquals(want[k], row.kept(), kinds[k] + " head " + h + " kept");
                }
            }
            assertEquals((long) HEADS * v * D, a.part(Kind.V, 0).orElseThrow().numel(), "the V block");
            assertTrue(AnatomyReport.table(a).contains("qk_dim 48, v_dim 24"), "the table names the widths");
        }
    }

    @Test
    void magnitudePrecisionBreaksTiesTowardsTheLowestIndex() {
        float[] w = {1f, -3f, 2f, 2f, 0.5f};
        Magnitude top = TicketAnatomy.magnitude(w, new float[] {0, 1, 1, 0, 0});
        assertEquals(1.0, top.precision()); // the top 2: |-3| and the first 2
        assertEquals(2.5, top.meanAbsKept());
        assertEquals((1 + 2 + 0.5) / 3, top.meanAbsPruned(), 1e-15);
        assertEquals(0.5, TicketAnatomy.magnitude(w, new float[] {0, 1, 0, 1, 0}).precision());
        assertEquals(0.0, TicketAnatomy.magnitude(w, new float[] {1, 0, 0, 0, 1}).precision());
        assertEquals(1.0, TicketAnatomy.magnitude(w, new float[] {1, 1, 1, 1, 1}).precision());
        assertTrue(Double.isNaN(TicketAnatomy.magnitude(w, new float[5]).precision()));
    }

    @Test
    void aTicketFileGivesTheSameAnatomyAsTheModelInMemoryWithoutScores() throws IOException {
        // the tiny preset, so that the ticket's config rebuilds the model (LoadedModel.fromTicket)
        Config config = TestRuns.tiny(tmp);
        Path file = tmp.resolve("hand.ticket");
        TicketAnatomy inMemory;
        try (NDManager nm = NDManager.newBaseManager()) {
            Gpt2 model = Gpt2.create(ModelSpec.from(config), nm);
            assertEquals(D, model.spec().dModel());
            setKnownMasks(model);
            inMemory = TicketAnatomy.of(model, "in-memory", 3, true);
            Ticket.of(model, ConfigLoader.toYaml(config), 3, Double.NaN).write(file);
        }
        try (LoadedModel m = LoadedModel.fromTicket(file, List.of())) {
            TicketAnatomy fromTicket = TicketAnatomy.of(m.model(), m.source(), m.step(), false);
            assertEquals(inMemory.rows().size(), fromTicket.rows().size());
            assertEquals(3, fromTicket.step());
            for (int i = 0; i < inMemory.rows().size(); i++) {
                Row x = inMemory.rows().get(i);
                Row y = fromTicket.rows().get(i);
                String what = x.level() + " " + x.kind() + " " + x.layer() + " " + x.head();
                assertEquals(List.of(x.level(), String.valueOf(x.kind()), x.layer(), x.head(), x.tensor(), x.numel(), x.kept()),
                        List.of(y.level(), String.valueOf(y.kind()), y.layer(), y.head(), y.tensor(), y.numel(), y.kept()), what);
                assertEquals(x.density(), y.density(), what);
                assertEquals(x.magnitude(), y.magnitude(), what + ": weights regenerate bit for bit");
                assertNull(y.scores(), what + ": a ticket has no scores");
                if (x.level() == Level.TENSOR) {
                    assertNotNull(x.scores());
                }
            }
            assertEquals(1.0, fromTicket.head(Kind.Q, 0, 0).density());
            assertEquals(1.0, fromTicket.part(Kind.K, 1).orElseThrow().magnitude().precision());
            String table = AnatomyReport.table(fromTicket);
            assertTrue(table.contains("not in a ticket"), table);
            assertTrue(AnatomyReport.markdown(fromTicket).contains("Not in a ticket"));
            assertTrue(AnatomyReport.csv(fromTicket).lines().skip(1).allMatch(l -> l.split(",", -1)[8].isEmpty()),
                    "no score columns for a ticket");
        }
    }

    @Test
    void filesAreWrittenAndThePngsAreRealImages() throws IOException {
        try (NDManager nm = NDManager.newBaseManager()) {
            Gpt2 model = Gpt2.create(spec(Config.Mode.EDGEPOPUP, false), nm);
            setKnownMasks(model);
            TicketAnatomy a = TicketAnatomy.of(model, "in-memory", 1, true);
            assertEquals(List.of("wte", "wpe"), a.unmasked());
            assertTrue(a.kind(Kind.WTE).isEmpty(), "unmasked embeddings have no density row");
            Path dir = tmp.resolve("out");
            List<Path> files = AnatomyReport.write(a, dir);
            assertEquals(AnatomyReport.FILES.size(), files.size());
            for (Path f : files) {
                assertTrue(Files.size(f) > 500, f + " is not trivial");
            }
            String md = Files.readString(dir.resolve(AnatomyReport.MARKDOWN));
            assertTrue(md.contains("| 0 | 1.0000 | 0.0000 | 0.0000 | 1.0000 |"), "Q head grid row of layer 0:\n" + md);
            assertTrue(md.contains("not masked (all weights used): wte, wpe"));
            for (String png : List.of(AnatomyReport.HEATMAP, AnatomyReport.BARS)) {
                BufferedImage img = ImageIO.read(dir.resolve(png).toFile());
                assertNotNull(img, png + " is a readable PNG");
                assertTrue(img.getWidth() >= 400 && img.getHeight() >= 300, png + " size");
                Set<Integer> colours = new HashSet<>();
                for (int y = 0; y < img.getHeight(); y += 3) {
                    for (int x = 0; x < img.getWidth(); x += 3) {
                        colours.add(img.getRGB(x, y));
                    }
                }
                assertTrue(colours.size() > 20, png + " has " + colours.size() + " colours: not blank");
            }
        }
    }

    @Test
    void aDenseModelHasNoMasksToInspect() {
        try (NDManager nm = NDManager.newBaseManager()) {
            Gpt2 model = Gpt2.create(spec(Config.Mode.DENSE, true), nm);
            UserError e = assertThrows(UserError.class, () -> TicketAnatomy.of(model, "dense", 0, true));
            assertTrue(e.getMessage().contains("dense") && !e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void theHeadShapeMatchesTheModelsTensors() {
        try (NDManager nm = NDManager.newBaseManager()) {
            Gpt2 model = Gpt2.create(spec(Config.Mode.EDGEPOPUP, true), nm);
            assertEquals(new Shape(3 * D, D), byName(model).get("h.0.attn.c_attn").weight().getShape());
            assertEquals(new Shape(D, D), byName(model).get("h.0.attn.c_proj").weight().getShape());
        }
    }
}
