package slt.model;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

/** A bias-free linear map y = x W^T with an edge-popup weight W of shape (out, in), as torch's Linear. */
public final class MaskedLinear extends MaskedBlock {
    private final long out;

    public MaskedLinear(String name, long in, long out, Role role, Initializer weightInit, Initializer scoreInit,
            double rescale) {
        super(name, new Shape(out, in), role, weightInit, scoreInit, rescale);
        this.out = out;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> p) {
        return Linear.linear(inputs.singletonOrThrow(), effectiveWeight());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(out)};
    }
}
