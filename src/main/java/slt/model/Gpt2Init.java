package slt.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.training.initializer.Initializer;
import slt.config.Seeds;

/**
 * GPT-2's initialisation, made deterministic per tensor name: every weight N(0, 0.02), the two
 * residual projections N(0, 0.02/sqrt(2 n_layer)), embeddings N(0, embedding_std); the query and
 * key blocks of the fused QKV weight times {@code qk_scale}. Scores are Kaiming-uniform over the
 * fan-in, U[-1/sqrt(fan_in), 1/sqrt(fan_in)], as {@code kaiming_uniform_(a=sqrt(5))} in the
 * edge-popup reference code. Values come from {@link RandomValues}, seeded by (train.seed, name).
 */
public final class Gpt2Init {
    private Gpt2Init() {}

    /** N(0, std^2) weights for tensor {@code name}. */
    public static Initializer normal(long seed, String name, double std) {
        return (manager, shape, dataType) ->
                manager.create(RandomValues.gaussian(Seeds.derive(seed, "weight", name), numel(shape), std), shape);
    }

    /**
     * The fused QKV weight, rows [Q; K; V] ({@link ModelSpec#qkvRows()} x d): N(0, std^2) with the
     * first {@code qkRows} rows (Q and K) multiplied by {@code qkScale} (each value rounded once to
     * float), V untouched.
     */
    public static Initializer qkv(long seed, String name, double std, int qkRows, double qkScale) {
        return (manager, shape, dataType) -> {
            float[] w = RandomValues.gaussian(Seeds.derive(seed, "weight", name), numel(shape), std);
            int qkEntries = Math.toIntExact(qkRows * shape.get(1));
            if (qkScale != 1.0) {
                for (int i = 0; i < qkEntries; i++) {
                    w[i] = (float) (w[i] * qkScale);
                }
            }
            return manager.create(w, shape);
        };
    }

    /** Kaiming-uniform scores for tensor {@code name}: U[-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = shape[1]. */
    public static Initializer scores(long seed, String name) {
        return (manager, shape, dataType) -> manager.create(
                RandomValues.uniform(Seeds.derive(seed, "scores", name), numel(shape), 1.0 / Math.sqrt(shape.get(1))),
                shape);
    }

    private static int numel(Shape shape) {
        return Math.toIntExact(shape.size());
    }
}
