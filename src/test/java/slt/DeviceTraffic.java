package slt;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.index.dim.NDIndexBooleans;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.mockito.MockedStatic;
import org.mockito.Mockito;
import slt.model.Host;

/**
 * Counts, at DJL's JNI boundary, every call that moves data between host and device or makes the
 * host wait for the device, while it is open (on the thread that opened it). A static spy on
 * {@code JniUtils} calls the real methods and counts:
 *
 * <ul>
 *   <li>downloads: {@code getByteBuffer} (every read of values into Java: getFloat, toFloatArray,
 *       toByteBuffer, ...); on a GPU each copies device memory to the host and waits;
 *   <li>uploads: {@code createNdFromByteBuffer} (every array made from Java data: batches, and
 *       the scalar DJL makes for every {@code NDArray.op(Number)}); on a GPU a blocking copy;
 *   <li>device copies: {@code to} with another device than the array's (never on a CPU run);
 *   <li>data-dependent shapes: {@code booleanMask}, {@code nonZeros} and {@code indexAdv} with a
 *       boolean index ({@code a.get(mask)}), whose output size the host must learn from the
 *       device (torch's nonzero synchronises).
 * </ul>
 *
 * It also records every download that did not go through {@link Host} (an array whose manager is
 * not one of Host's scratch managers): on a GPU such a read leaks a copy (see Host).
 */
public final class DeviceTraffic implements AutoCloseable {
    private final MockedStatic<JniUtils> spy;
    private long downloads;
    private long uploads;
    private long deviceCopies;
    private long dataDependent;
    private final List<String> readsOutsideHost = new ArrayList<>();

    private DeviceTraffic() {
        spy = Mockito.mockStatic(JniUtils.class, invocation -> {
            switch (invocation.getMethod().getName()) {
                case "getByteBuffer" -> {
                    downloads++;
                    NDArray a = invocation.getArgument(0);
                    if (!underHost(a.getManager())) {
                        readsOutsideHost.add(Arrays.toString(Thread.currentThread().getStackTrace()));
                    }
                }
                case "createNdFromByteBuffer" -> uploads++;
                case "to" -> {
                    NDArray a = invocation.getArgument(0);
                    Device to = invocation.getArgument(2);
                    if (!to.equals(a.getDevice())) {
                        deviceCopies++;
                    }
                }
                case "booleanMask", "nonZeros" -> dataDependent++;
                case "indexAdv" -> { // a[boolMask]: torch's nonzero behind it waits for the device
                    NDIndex index = invocation.getArgument(1);
                    if (index.getIndices().stream().anyMatch(e -> e instanceof NDIndexBooleans)) {
                        dataDependent++;
                    }
                }
                default -> { }
            }
            return invocation.callRealMethod();
        });
    }

    /** Starts counting on this thread. */
    public static DeviceTraffic count() {
        return new DeviceTraffic();
    }

    private static boolean underHost(NDManager m) {
        for (NDManager p = m; p != null; p = p.getParentManager()) {
            if (Host.SCRATCH.equals(p.getName())) {
                return true;
            }
        }
        return false;
    }

    /** Everything counted so far that makes the host wait for a device. */
    public long synchronisations() {
        return downloads + uploads + deviceCopies + dataDependent;
    }

    public long downloads() {
        return downloads;
    }

    public long uploads() {
        return uploads;
    }

    public long dataDependent() {
        return dataDependent;
    }

    /** Stack traces of reads that bypassed {@link Host}. */
    public List<String> readsOutsideHost() {
        return readsOutsideHost;
    }

    /** Sets every count back to zero. */
    public void reset() {
        downloads = 0;
        uploads = 0;
        deviceCopies = 0;
        dataDependent = 0;
        readsOutsideHost.clear();
    }

    @Override
    public String toString() {
        return synchronisations() + " (downloads " + downloads + ", uploads " + uploads + ", device copies "
                + deviceCopies + ", data-dependent shapes " + dataDependent + ")";
    }

    @Override
    public void close() {
        spy.close();
    }
}
