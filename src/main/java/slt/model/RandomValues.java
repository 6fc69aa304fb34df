package slt.model;

import java.util.SplittableRandom;
import java.util.stream.IntStream;
import slt.config.Seeds;

/**
 * Bit-reproducible random tensors, generated on the CPU in Java and only then copied to the
 * device. A tensor is cut into fixed chunks; chunk {@code c} draws from its own {@link
 * SplittableRandom} seeded by (seed, c), and normals use Box-Muller with {@link StrictMath}, whose
 * results Java specifies bit for bit. So the same seed gives the same floats on every machine,
 * JVM, thread count and device: a ticket (seed + masks) regenerates its weights exactly.
 */
public final class RandomValues {
    private static final int CHUNK = 1 << 16;
    private static final double TWO_PI = 2 * Math.PI;
    private static final double UNIT = 0x1.0p-53;

    private RandomValues() {}

    /** {@code n} draws from N(0, std^2). */
    public static float[] gaussian(long seed, int n, double std) {
        float[] out = new float[n];
        forEachChunk(seed, n, (rng, from, to) -> {
            for (int i = from; i < to; i += 2) {
                double u1 = 1.0 - (rng.nextLong() >>> 11) * UNIT; // (0, 1]: log is finite
                double u2 = (rng.nextLong() >>> 11) * UNIT;
                double r = StrictMath.sqrt(-2.0 * StrictMath.log(u1)) * std;
                double a = TWO_PI * u2;
                out[i] = (float) (r * StrictMath.cos(a));
                if (i + 1 < to) {
                    out[i + 1] = (float) (r * StrictMath.sin(a));
                }
            }
        });
        return out;
    }

    /** {@code n} draws from U[-bound, bound). */
    public static float[] uniform(long seed, int n, double bound) {
        float[] out = new float[n];
        forEachChunk(seed, n, (rng, from, to) -> {
            for (int i = from; i < to; i++) {
                out[i] = (float) ((2.0 * ((rng.nextLong() >>> 11) * UNIT) - 1.0) * bound);
            }
        });
        return out;
    }

    private interface ChunkFiller {
        void fill(SplittableRandom rng, int from, int to);
    }

    private static void forEachChunk(long seed, int n, ChunkFiller filler) {
        int chunks = (n + CHUNK - 1) / CHUNK;
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int from = c * CHUNK;
            filler.fill(new SplittableRandom(Seeds.mix(seed + 0x9E3779B97F4A7C15L * (c + 1))),
                    from, Math.min(n, from + CHUNK));
        });
    }
}
