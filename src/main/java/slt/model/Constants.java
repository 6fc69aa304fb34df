package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Arithmetic with a constant that stays correct under autograd.
 *
 * <p>DJL 0.32's {@code x.mul(2f)} (likewise add, sub, div with a number) wraps the constant in a
 * tensor made by torch's {@code from_blob} over a Java direct buffer, and closes it right after
 * the op. Autograd keeps that constant for the backward pass (d(x*c)/dx = c), but once the Java
 * object is closed nothing keeps the buffer alive, and after a garbage collection the backward
 * pass reads freed memory. Measured here: NaN or slightly wrong gradients in about one training
 * run in ten, in the layers whose backward ran after a collection. These helpers make the
 * constant with {@code torch::full}: memory owned and reference-counted by libtorch.
 */
public final class Constants {
    private Constants() {}

    public static NDArray mul(NDArray x, double c) {
        try (NDArray k = scalar(x, c)) {
            return x.mul(k);
        }
    }

    public static NDArray div(NDArray x, double c) {
        try (NDArray k = scalar(x, c)) {
            return x.div(k);
        }
    }

    public static NDArray add(NDArray x, double c) {
        try (NDArray k = scalar(x, c)) {
            return x.add(k);
        }
    }

    private static NDArray scalar(NDArray like, double c) {
        return like.getManager().full(new Shape(), (float) c, like.getDataType()).toDevice(like.getDevice(), false);
    }
}
