package slt;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.lang.reflect.Field;
import java.util.Map;

/**
 * What lives under an NDManager: native arrays and child managers, counted through the whole tree.
 * DJL has no public count of child managers; this reads {@code BaseNDManager.resources} (DJL 0.32).
 */
public record NativeCensus(long arrays, long managers) {

    /** Arrays and managers under {@code root} (not counting root itself). */
    public static NativeCensus of(NDManager root) {
        long[] counts = new long[2];
        walk(root, counts);
        return new NativeCensus(counts[0], counts[1]);
    }

    private static void walk(NDManager m, long[] counts) {
        for (Object r : resources(m).values()) {
            if (r instanceof NDManager child) {
                counts[1]++;
                walk(child, counts);
            } else if (r instanceof NDArray) {
                counts[0]++;
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, AutoCloseable> resources(NDManager m) {
        try {
            Field f = BaseNDManager.class.getDeclaredField("resources");
            f.setAccessible(true);
            return (Map<String, AutoCloseable>) f.get(m);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("DJL's BaseNDManager changed: no 'resources' field", e);
        }
    }
}
