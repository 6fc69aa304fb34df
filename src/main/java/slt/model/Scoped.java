package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.function.Supplier;

/**
 * Frees a computation's intermediate arrays as soon as it returns, as PyTorch eager does.
 *
 * <p>DJL keeps every array an op creates until the enclosing {@link NDScope} closes (in training:
 * the end of the micro-batch, after the backward pass), so without this every temporary of the
 * forward pass (attention scores before the softmax, each step of the GELU, |S| and the mask
 * term of every weight) stays alive through the backward pass. Closing a Java handle only drops
 * DJL's reference: what the backward pass needs, libtorch's autograd holds its own reference to.
 * So closing intermediates early frees exactly the memory PyTorch would free, and changes no
 * number.
 */
public final class Scoped {
    private Scoped() {}

    /**
     * Runs {@code f} in its own scope and hands its result to the caller's scope; every other
     * array {@code f} created is closed. {@code f} must return an array it created, not one of
     * its inputs (that input would then belong to the caller's scope and be closed with it).
     */
    public static NDArray call(Supplier<NDArray> f) {
        NDArray out;
        try (NDScope ignored = new NDScope()) {
            out = f.get();
            NDScope.unregister(out);
        }
        NDScope.register(out);
        return out;
    }
}
