package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

/** An embedding table of shape (rows, dim) with an edge-popup weight; looks up rows by index. */
public final class MaskedEmbedding extends MaskedBlock {
    private final long dim;

    public MaskedEmbedding(String name, long rows, long dim, Role role, Initializer weightInit,
            Initializer scoreInit, double rescale) {
        super(name, new Shape(rows, dim), role, weightInit, scoreInit, rescale);
        this.dim = dim;
    }

    /** Rows {@code ids} of a given (already computed) effective table. */
    public static NDArray lookup(NDArray ids, NDArray table) {
        return Embedding.embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> p) {
        return new NDList(lookup(inputs.singletonOrThrow(), effectiveWeight()));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(dim)};
    }
}
