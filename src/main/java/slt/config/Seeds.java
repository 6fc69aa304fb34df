package slt.config;

import java.nio.charset.StandardCharsets;

/**
 * The one place that derives random seeds. Every random stream of a run (each weight tensor, each
 * score tensor, each epoch's data order) is seeded by {@code derive(train.seed, purpose...)}: a
 * stable hash, independent of creation order, thread count and machine.
 */
public final class Seeds {
    private Seeds() {}

    /** A 64-bit seed for the stream named by {@code parts}, under the run seed {@code seed}. */
    public static long derive(long seed, Object... parts) {
        long h = mix(seed ^ 0x5DEECE66DL);
        for (Object p : parts) {
            h = mix(h ^ fnv1a(String.valueOf(p)));
        }
        return h;
    }

    /** SplitMix64's finaliser: a bijective 64-bit mixer. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static long fnv1a(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001B3L;
        }
        return h;
    }
}
