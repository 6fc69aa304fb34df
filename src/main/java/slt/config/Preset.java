package slt.config;

/**
 * GPT-2 sizes. Head dimension is 64 everywhere, so {@code model.width} scales d and the number of
 * heads together. {@code mini} follows erwanf/gpt2-mini; small and medium are OpenAI's GPT-2.
 */
public enum Preset {
    TINY(2, 2, 128),
    MINI(4, 8, 512),
    SMALL(12, 12, 1024),
    MEDIUM(24, 16, 1024);

    /** Per-head query/key dimension n_K of every preset. */
    public static final int HEAD_DIM = 64;

    /** GPT-2 BPE vocabulary (50,000 merges + 256 bytes + end-of-text). */
    public static final int VOCAB = 50257;

    private final int layers;
    private final int heads;
    private final int context;

    Preset(int layers, int heads, int context) {
        this.layers = layers;
        this.heads = heads;
        this.context = context;
    }

    public int layers() {
        return layers;
    }

    public int heads() {
        return heads;
    }

    public int context() {
        return context;
    }

    /** d_model at width 1. */
    public int dModel() {
        return heads * HEAD_DIM;
    }

    /** The name used in configs and run names. */
    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
