package slt.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The one door from the device to the host: every read of array values into Java (checkpoints,
 * tickets, exports, losses, counts, evaluation, generation, benchmarks) goes through here, and
 * what it copies is freed before it returns.
 *
 * <p>Why it exists: DJL 0.32 reads a GPU array ({@code toByteBuffer}, {@code getFloat},
 * {@code toFloatArray}) by first copying it to a CPU array that it attaches to a new sub-manager of
 * the array's manager, and never frees that copy nor that sub-manager until the parent closes
 * (for the model's manager: the end of the run). A checkpoint of GPT-2 small leaked ~1.5 GB of host
 * memory that way, and every scalar read leaked a manager. On the CPU the same calls return the
 * array itself, so no CPU test could see it.
 *
 * <p>How: a read opens a scratch manager under the array's own manager (same device), attaches a
 * detached alias of the array to it (no copy) and asks DJL for a CPU copy of the alias: on a GPU,
 * DJL puts that copy in a sub-manager of the scratch manager; on the CPU the "copy" is another
 * handle on the same memory. Closing the scratch manager frees all of it. Both devices take
 * exactly this route, so the CPU tests count the same managers and arrays a GPU run creates.
 *
 * <p>Every call here waits for the device (one synchronisation). Read many values with one call
 * ({@link #stacked}) rather than one call per value.
 */
public final class Host {
    /** The name of every scratch manager opened here (tests look for it). */
    public static final String SCRATCH = "slt-host-copy";

    private Host() {}

    /** A host copy of an array, freed by {@link #close()}. */
    public static final class Copy implements AutoCloseable {
        private final NDManager scratch;
        private final NDArray host;

        private Copy(NDManager scratch, NDArray host) {
            this.scratch = scratch;
            this.host = host;
        }

        public DataType dataType() {
            return host.getDataType();
        }

        /** The raw little-endian bytes, valid until {@link #close()}. */
        public ByteBuffer bytes() {
            return host.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
        }

        public float[] floats() {
            return host.toFloatArray();
        }

        public long[] longs() {
            return host.toLongArray();
        }

        public boolean[] booleans() {
            return host.toBooleanArray();
        }

        /** Every value as a double, for float16/32/64 and integer types. */
        public double[] doubles() {
            DataType type = host.getDataType();
            double[] out = new double[Math.toIntExact(host.size())];
            switch (type) {
                case FLOAT64 -> {
                    return host.toDoubleArray();
                }
                case FLOAT32, FLOAT16 -> {
                    float[] f = host.toFloatArray();
                    for (int i = 0; i < f.length; i++) {
                        out[i] = f[i];
                    }
                }
                case INT64 -> {
                    long[] l = host.toLongArray();
                    for (int i = 0; i < l.length; i++) {
                        out[i] = l[i];
                    }
                }
                case INT32 -> {
                    int[] n = host.toIntArray();
                    for (int i = 0; i < n.length; i++) {
                        out[i] = n[i];
                    }
                }
                default -> throw new IllegalArgumentException("cannot read " + type + " values as numbers");
            }
            return out;
        }

        @Override
        public void close() {
            scratch.close();
        }
    }

    /** Copies {@code a} to the host; close the result to free the copy. */
    public static Copy copy(NDArray a) {
        NDManager scratch = a.getManager().newSubManager();
        scratch.setName(SCRATCH);
        try {
            NDArray alias = a.stopGradient(); // a second handle on a's memory, no copy
            NDScope.unregister(alias);
            alias.attach(scratch);
            NDArray host = alias.toDevice(Device.cpu(), true); // GPU: DJL puts it in a sub-manager of scratch
            NDScope.unregister(host);
            return new Copy(scratch, host);
        } catch (RuntimeException e) {
            scratch.close();
            throw e;
        }
    }

    public static float[] floats(NDArray a) {
        try (Copy c = copy(a)) {
            return c.floats();
        }
    }

    public static long[] longs(NDArray a) {
        try (Copy c = copy(a)) {
            return c.longs();
        }
    }

    public static boolean[] booleans(NDArray a) {
        try (Copy c = copy(a)) {
            return c.booleans();
        }
    }

    public static double[] doubles(NDArray a) {
        try (Copy c = copy(a)) {
            return c.doubles();
        }
    }

    /** The value of a one-element array, as a double (float, double or integer types). */
    public static double value(NDArray scalar) {
        requireOne(scalar);
        return doubles(scalar)[0];
    }

    /** The value of a one-element integer array. */
    public static long longValue(NDArray scalar) {
        requireOne(scalar);
        try (Copy c = copy(scalar)) {
            return switch (c.dataType()) {
                case INT64 -> c.longs()[0];
                case INT32 -> c.host.toIntArray()[0];
                default -> throw new IllegalArgumentException("not an integer array: " + c.dataType());
            };
        }
    }

    /**
     * The values of many one-element arrays of one type, read with a single transfer: they are
     * stacked on the device first (the stack is freed here, the inputs are not).
     */
    public static double[] stacked(List<NDArray> scalars) {
        if (scalars.isEmpty()) {
            return new double[0];
        }
        try (NDScope ignored = new NDScope()) {
            NDList flat = new NDList(scalars.size());
            for (NDArray s : scalars) {
                requireOne(s);
                flat.add(s.reshape(1));
            }
            return doubles(NDArrays.concat(flat));
        }
    }

    private static void requireOne(NDArray a) {
        if (a.size() != 1) {
            throw new IllegalArgumentException("expected one value, got an array of shape " + a.getShape());
        }
    }
}
