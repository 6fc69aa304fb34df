package slt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import slt.config.Config;

/** Exact top-k masks compared with a sort-based reference written independently here, on both radix paths. */
class MaskSelectorTest {

    /** Reference: indices sorted by (|value| descending, index ascending); the first k are kept. */
    private static float[] reference(float[] values, long k) {
        Integer[] order = IntStream.range(0, values.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -Math.abs(values[i])).thenComparingInt(i -> i));
        float[] mask = new float[values.length];
        for (int r = 0; r < k; r++) {
            mask[order[r]] = 1;
        }
        return mask;
    }

    private static MaskedLinear layer(String name, float[] scores, int out, int in) {
        float[] w = new float[scores.length];
        Arrays.fill(w, 1f);
        return new MaskedLinear(name, in, out, MaskedBlock.Role.MASKED,
                (m, shape, dt) -> m.create(w, shape), (m, shape, dt) -> m.create(scores, shape), 1.0);
    }

    @Test
    void perTensorKeepsExactlyTheLargestMagnitudesForManySizesAndDensities() {
        SplittableRandom rng = new SplittableRandom(3);
        try (NDManager m = NDManager.newBaseManager(); Kernels kernels = Kernels.on(m)) {
            for (int n : new int[] {1, 2, 3, 10, 97, 1000, 4099}) {
                for (double density : new double[] {0.01, 0.3, 0.5, 0.7, 0.99, 1.0}) {
                    float[] s = new float[n];
                    for (int i = 0; i < n; i++) {
                        s[i] = (float) rng.nextGaussian();
                    }
                    MaskedLinear l = layer("t", s, 1, n);
                    l.initialize(m, DataType.FLOAT32, new Shape(1, n));
                    MaskSelector.update(kernels, List.of(l), density, Config.Scope.TENSOR);
                    long k = Math.round(density * n);
                    float[] got = l.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
                    assertArrayEquals(reference(s, k), got, "n=" + n + " density=" + density);
                    assertEquals(k, sum(got));
                }
            }
        }
    }

    @Test
    void tiesAtTheThresholdGoToTheLowestIndexAndTheCountIsExact() {
        // many exact ties: values from {−3..3} / 4, signs mixed, so |s| ties heavily
        SplittableRandom rng = new SplittableRandom(11);
        int n = 501;
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = (rng.nextInt(7) - 3) / 4f;
        }
        try (NDManager m = NDManager.newBaseManager(); Kernels kernels = Kernels.on(m)) {
            for (double density : new double[] {0.1, 0.3, 0.5, 0.77}) {
                MaskedLinear l = layer("ties", s, 3, 167);
                l.initialize(m, DataType.FLOAT32, new Shape(1, 167));
                MaskSelector.update(kernels, List.of(l), density, Config.Scope.TENSOR);
                assertArrayEquals(reference(s, Math.round(density * n)), l.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray(), "density " + density);
            }
        }
    }

    @Test
    void globalScopeUsesOneThresholdOverAllTensorsWithTiesInTensorOrder() {
        SplittableRandom rng = new SplittableRandom(5);
        int[] sizes = {60, 200, 35};
        List<float[]> scores = new ArrayList<>();
        for (int size : sizes) {
            float[] s = new float[size];
            for (int i = 0; i < size; i++) {
                // different scales per tensor, plus ties across tensors
                s[i] = rng.nextInt(4) == 0 ? 0.5f : (float) (rng.nextGaussian() * (size / 100.0));
            }
            scores.add(s);
        }
        float[] all = new float[Arrays.stream(sizes).sum()];
        int off = 0;
        for (float[] s : scores) {
            System.arraycopy(s, 0, all, off, s.length);
            off += s.length;
        }
        double density = 0.3;
        float[] expected = reference(all, Math.round(density * all.length));
        try (NDManager m = NDManager.newBaseManager(); Kernels kernels = Kernels.on(m)) {
            List<MaskedBlock> layers = new ArrayList<>();
            for (int i = 0; i < sizes.length; i++) {
                MaskedLinear l = layer("g" + i, scores.get(i), 1, sizes[i]);
                l.initialize(m, DataType.FLOAT32, new Shape(1, sizes[i]));
                layers.add(l);
            }
            MaskSelector.update(kernels, layers, density, Config.Scope.GLOBAL);
            float[] got = new float[all.length];
            off = 0;
            for (MaskedBlock l : layers) {
                float[] part = l.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
                System.arraycopy(part, 0, got, off, part.length);
                off += part.length;
            }
            assertArrayEquals(expected, got);
            // per tensor the kept fraction differs from 0.3: it really is one global threshold
            double first = (double) sum(layers.get(0).mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray()) / sizes[0];
            double second = (double) sum(layers.get(1).mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray()) / sizes[1];
            assertEquals(true, Math.abs(first - second) > 0.05, "tensor densities " + first + " vs " + second);
        }
    }

    @Test
    void largeTensorsStayExactWithTiesAndSkewedValues() {
        int n = (1 << 19) + 12_345;
        SplittableRandom rng = new SplittableRandom(21);
        float[] smooth = new float[n];
        float[] ties = new float[n];
        float[] adversarial = new float[n];
        long stride = n / (1 << 16);
        for (int i = 0; i < n; i++) {
            smooth[i] = (float) rng.nextGaussian();
            ties[i] = rng.nextInt(50) / 7f;
            // a regular comb of maxima over a skewed body
            adversarial[i] = i % stride == 0 ? 1f : (float) rng.nextDouble(0, 0.9);
        }
        try (NDManager m = NDManager.newBaseManager(); Kernels kernels = Kernels.on(m)) {
            for (float[] s : List.of(smooth, ties, adversarial)) {
                for (double density : new double[] {0.05, 0.3, 0.9}) {
                    MaskedLinear l = layer("big", s, 1, n);
                    l.initialize(m, DataType.FLOAT32, new Shape(1, n));
                    MaskSelector.update(kernels, List.of(l), density, Config.Scope.TENSOR);
                    assertArrayEquals(reference(s, Math.round(density * n)), l.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray(), "density " + density);
                }
            }
        }
    }

    @Test
    void bothRadixPathsAreExactOnAwkwardValues() {
        // the radix select works on float bits: zeros of both signs, subnormals, infinities, values
        // that share their top 16 bits (one bucket), a bucket holding everything, and ties
        SplittableRandom rng = new SplittableRandom(17);
        int n = 3000;
        List<float[]> cases = new ArrayList<>();
        float[] awkward = new float[n];
        for (int i = 0; i < n; i++) {
            awkward[i] = switch (i % 10) {
                case 0 -> 0f;
                case 1 -> -0f;
                case 2 -> Float.MIN_VALUE * (1 + rng.nextInt(100)) * (rng.nextBoolean() ? 1 : -1);
                case 3 -> i % 20 == 3 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                case 4 -> Float.intBitsToFloat(0x3f800000 | rng.nextInt(1 << 16)); // one bucket: [1, 1.0078)
                case 5 -> -Float.intBitsToFloat(0x3f800000 | rng.nextInt(1 << 16));
                case 6 -> Float.MAX_VALUE;
                default -> (float) rng.nextGaussian();
            };
        }
        cases.add(awkward);
        float[] oneBucket = new float[n];
        for (int i = 0; i < n; i++) {
            oneBucket[i] = Float.intBitsToFloat(0x40000000 | rng.nextInt(64)); // 64 distinct values, heavy ties
        }
        cases.add(oneBucket);
        float[] constant = new float[n];
        Arrays.fill(constant, -0.25f);
        cases.add(constant);
        try (NDManager m = NDManager.newBaseManager(); Kernels kernels = Kernels.on(m)) {
            for (float[] s : cases) {
                for (long k : new long[] {1, 2, 299, 1500, 2999}) {
                    float[] expected = reference(s, k);
                    for (boolean mayWait : new boolean[] {true, false}) {
                        // as one tensor, and split in three ranked together (the global scope)
                        NDArray a = m.create(s);
                        float[] one = MaskSelector.selectOne(kernels, List.of(a), k, mayWait).get(0)
                                .toType(DataType.FLOAT32, false).toFloatArray();
                        assertArrayEquals(expected, one, "k=" + k + " mayWait=" + mayWait);
                        List<NDArray> parts = List.of(a.get("0:1000").reshape(10, 100), a.get("1000:1001"), a.get("1001:"));
                        float[] split = new float[n];
                        int off = 0;
                        for (NDArray p : MaskSelector.selectOne(kernels, parts, k, mayWait)) {
                            float[] f = p.toType(DataType.FLOAT32, false).toFloatArray();
                            System.arraycopy(f, 0, split, off, f.length);
                            off += f.length;
                        }
                        assertArrayEquals(expected, split, "split, k=" + k + " mayWait=" + mayWait);
                    }
                }
            }
        }
    }

    @Test
    void theThresholdAndCountsAreTheKthLargestAndItsRanks() {
        int n = (1 << 20) + 3;
        SplittableRandom rng = new SplittableRandom(5);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        float[] sorted = new float[n];
        for (int i = 0; i < n; i++) {
            sorted[i] = Math.abs(v[i]);
        }
        Arrays.sort(sorted);
        try (NDManager m = NDManager.newBaseManager(); Kernels kernels = Kernels.on(m)) {
            NDArray a = m.create(v);
            for (double density : new double[] {0.01, 0.3, 0.7, 0.99}) {
                long k = Math.round(density * n);
                float t = sorted[n - (int) k];
                long atLeast = 0;
                long above = 0;
                for (float x : sorted) {
                    atLeast += x >= t ? 1 : 0;
                    above += x > t ? 1 : 0;
                }
                for (boolean mayWait : new boolean[] {true, false}) {
                    Kernels.TopMasks r = kernels.topMasks(List.of(a), k, mayWait);
                    assertEquals(Float.floatToIntBits(t), Host.longValue(r.threshold()), "k-th largest's bits, density " + density);
                    assertEquals(atLeast, Host.longValue(r.kept()));
                    assertEquals(above, Host.longValue(r.greater()));
                }
            }
        }
    }

    @Test
    void masksFollowUpdatedScoresAndOldMasksAreReplaced() {
        float[] s = {0.1f, 0.2f, 0.3f, 0.4f};
        try (NDManager m = NDManager.newBaseManager(); Kernels kernels = Kernels.on(m)) {
            MaskedLinear l = layer("u", s, 2, 2);
            l.initialize(m, DataType.FLOAT32, new Shape(1, 2));
            MaskSelector.update(kernels, List.of(l), 0.5, Config.Scope.TENSOR);
            NDArray first = l.mask();
            assertArrayEquals(new boolean[] {false, false, true, true}, first.toBooleanArray());
            l.scores().getArray().muli(-1).addi(m.create(new float[] {1, 1, 0, 0}, new Shape(2, 2)).neg());
            MaskSelector.update(kernels, List.of(l), 0.5, Config.Scope.TENSOR);
            assertArrayEquals(new float[] {1, 1, 0, 0}, l.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray());
            assertEquals(true, first.isReleased(), "previous mask freed");
        }
    }

    private static long sum(float[] a) {
        long n = 0;
        for (float v : a) {
            n += (long) v;
        }
        return n;
    }
}
