package slt.config;

import slt.UserError;

/**
 * A run's configuration: typed records bound from YAML (see {@code defaults.yaml} for every key,
 * its default and its meaning), validated once by {@link #validate()}. Records only; no DJL.
 */
public record Config(Run run, Model model, Slt slt, Data data, Train train) {

    /**
     * Where the run lives and what it runs on: {@code replicas} model replicas (data parallel, one
     * per device), on GPUs {@code gpus} (null: the first {@code replicas}).
     */
    public record Run(String name, String dir, Device device, int threads, int replicas, java.util.List<Integer> gpus) {}

    /** The GPT-2 architecture and its initialisation. */
    public record Model(
            Preset preset,
            double width,
            Integer context,
            double initStd,
            double embeddingStd,
            double logitScale,
            double layerNormEps,
            Integer qkDim,
            Integer vDim) {}

    /** Edge-popup: what is masked, how much is kept, how Q/K are scaled. */
    public record Slt(
            Mode mode,
            double density,
            Scope scope,
            String qkScale,
            boolean maskEmbeddings,
            Rescale rescale) {}

    /** WikiText files, windows and token cache. */
    public record Data(
            String path,
            Variant variant,
            Split trainSplit,
            double holdout,
            int seqLen,
            String cacheDir) {}

    /** Optimisation, schedule, evaluation and logging. */
    public record Train(
            long seed,
            int epochs,
            int stepsPerEpoch,
            int batchSize,
            int microBatch,
            double lr,
            double minLr,
            double warmupEpochs,
            double weightDecay,
            double beta1,
            double beta2,
            double eps,
            Double gradClip,
            Integer evalEvery,
            Integer evalWindows,
            int logEvery,
            Integer checkpointEvery,
            int keepCheckpoints,
            boolean tensorboard,
            Precision precision) {

        /** Total number of optimizer steps of the run. */
        public long totalSteps() {
            return (long) epochs * stepsPerEpoch;
        }

        /** Optimizer steps between validations (the explicit value, or once per epoch). */
        public int evalInterval() {
            return evalEvery != null ? evalEvery : stepsPerEpoch;
        }

        /** Optimizer steps between checkpoints (the explicit value, or once per epoch). */
        public int checkpointInterval() {
            return checkpointEvery != null ? checkpointEvery : stepsPerEpoch;
        }

        /** Linear warm-up length in optimizer steps. */
        public long warmupSteps() {
            return Math.round(warmupEpochs * stepsPerEpoch);
        }

        /** Micro-batches accumulated per optimizer step. */
        public int accumulation() {
            return batchSize / microBatch;
        }
    }

    /**
     * Keys a resumed run may change: they leave the computation done so far as it was (where the
     * data lives, where it runs, how often it evaluates, logs and saves, how long it goes on).
     * {@code train.micro_batch} and {@code run.replicas} change only the summation order of the
     * accumulated gradient.
     */
    public static final java.util.Set<String> RESUMABLE_KEYS = java.util.Set.of(
            "run.device", "run.threads", "data.path", "data.cache_dir", "train.epochs", "train.eval_every",
            "train.eval_windows", "train.log_every", "train.checkpoint_every", "train.keep_checkpoints",
            "train.micro_batch", "run.replicas", "run.gpus", "train.tensorboard");

    /**
     * Keys that {@code eval}, {@code generate} and {@code inspect} may set on a trained model:
     * where it runs, where the data is, the windows it is evaluated on and the precision it computes
     * in; none changes the model.
     */
    public static final java.util.Set<String> EVAL_KEYS = java.util.Set.of(
            "run.device", "run.threads", "data.path", "data.cache_dir", "data.seq_len", "train.eval_windows",
            "train.micro_batch", "train.precision");

    public enum Device { AUTO, CPU, GPU }

    /**
     * The precision of the matrix products: {@code AUTO} is TF32 on a GPU and FP32 on the CPU;
     * {@code FP32} strict fp32; {@code TF32} fp32 products on a GPU's TF32 tensor cores (fp32 on the
     * CPU); {@code BF16}/{@code FP16} 16-bit products (LayerNorm, softmax, loss, scores and AdamW
     * stay fp32), FP16 with dynamic loss scaling.
     */
    public enum Precision { AUTO, FP32, TF32, BF16, FP16 }

    public enum Mode { EDGEPOPUP, DENSE }

    public enum Scope { TENSOR, GLOBAL }

    public enum Rescale { NONE, SQRT_DENSITY }

    public enum Variant { RAW, TOKENS }

    public enum Split { TRAIN, VALID, TEST }

    /** This config with {@code run.name} filled in and {@code slt.qk_scale} as a number: what a run records. */
    public Config resolved() {
        Run r = new Run(runName(), run.dir(), run.device(), run.threads(), run.replicas(), run.gpus());
        Slt s = new Slt(slt.mode(), slt.density(), slt.scope(), Double.toString(qkScale()), slt.maskEmbeddings(),
                slt.rescale());
        return new Config(r, model, s, data, train);
    }

    /** The Q/K scale as a number: {@code auto} resolves to {@link #autoQkScale()}. */
    public double qkScale() {
        if ("auto".equalsIgnoreCase(slt.qkScale().trim())) {
            return autoQkScale();
        }
        return Double.parseDouble(slt.qkScale().trim());
    }

    /** Number of attention heads after the width multiplier. */
    public int nHead() {
        return (int) Math.round(model.preset().heads() * model.width());
    }

    /** Model width d after the width multiplier (heads x 64). */
    public int dModel() {
        return nHead() * Preset.HEAD_DIM;
    }

    /** What {@code slt.qk_scale: auto} means: qk_dim^(1/4), the theorem's n_K^(1/4) (2.83 at 64). */
    public double autoQkScale() {
        return Math.pow(qkDim(), 0.25);
    }

    /** Per-head query/key dimension n_K: {@code model.qk_dim}, or the head dimension (64). */
    public int qkDim() {
        return model.qkDim() != null ? model.qkDim() : Preset.HEAD_DIM;
    }

    /** Per-head value dimension n_V: {@code model.v_dim}, or the head dimension (64). */
    public int vDim() {
        return model.vDim() != null ? model.vDim() : Preset.HEAD_DIM;
    }

    /** Number of learned positions. */
    public int context() {
        return model.context() != null ? model.context() : model.preset().context();
    }

    /**
     * Whether {@code name} is a single directory name this tool accepts for runs and sweeps: letters,
     * digits and {@code . _ = + -}, not {@code .} or {@code ..} (so it cannot leave its parent).
     */
    public static boolean isDirectoryName(String name) {
        return name != null && name.matches("[A-Za-z0-9._=+-]+") && !name.equals(".") && !name.equals("..");
    }

    /**
     * Entries of the smallest weight tensor edge-popup masks: the attention output projection
     * (d x heads * v_dim; d x d in GPT-2), or the position table (context x d) when the embeddings
     * are masked.
     */
    public long smallestMaskedTensor() {
        long d = dModel();
        long proj = d * nHead() * vDim();
        return slt.maskEmbeddings() ? Math.min(proj, (long) context() * d) : proj;
    }

    /** The run directory name: {@code run.name}, or one derived from what distinguishes runs. */
    public String runName() {
        if (run.name() != null) {
            return run.name();
        }
        StringBuilder b = new StringBuilder(model.preset().key());
        if (model.width() != 1.0) {
            b.append("-x").append(trim(model.width()));
        }
        if (qkDim() != Preset.HEAD_DIM) {
            b.append("-qkd").append(qkDim());
        }
        if (vDim() != Preset.HEAD_DIM) {
            b.append("-vd").append(vDim());
        }
        if (slt.mode() == Mode.DENSE) {
            b.append("-dense");
            if (qkScale() != 1.0) {
                b.append("-qk").append(trim(Math.round(qkScale() * 100) / 100.0));
            }
        } else {
            b.append("-slt-qk").append(trim(Math.round(qkScale() * 100) / 100.0));
            b.append("-k").append(trim(slt.density()));
        }
        return b.append("-s").append(train.seed()).toString();
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    /**
     * Checks every value and every relation between values, and throws a {@link UserError} naming
     * the first bad key and how to fix it. Returns this config for chaining.
     */
    public Config validate() {
        check(run.dir() != null && !run.dir().isBlank(), "run.dir must be a directory path");
        check(run.name() == null || isDirectoryName(run.name()),
                "run.name '" + run.name() + "' is not one directory name: use letters, digits and . _ = + - "
                        + "(not '.' or '..', no '/'), e.g. run.name=my-run; the run goes to run.dir/run.name");
        check(run.threads() >= 0, "run.threads must be >= 0 (0 = libtorch's default)");
        check(run.replicas() >= 1, "run.replicas must be >= 1 (model replicas, one per device; 1 = no data parallelism)");
        if (run.gpus() != null) {
            check(run.gpus().size() == run.replicas() && run.gpus().stream().allMatch(g -> g != null && g >= 0)
                    && run.gpus().stream().distinct().count() == run.gpus().size(), "run.gpus " + run.gpus() + " must name "
                    + run.replicas() + " distinct GPU indices, one per replica (run.replicas " + run.replicas()
                    + "), e.g. [0, 1]; or null for the first run.replicas GPUs");
        }

        double heads = model.preset().heads() * model.width();
        check(model.width() > 0 && Math.abs(heads - Math.rint(heads)) < 1e-9 && heads >= 1,
                "model.width " + model.width() + " gives " + heads + " heads for preset "
                        + model.preset().key() + ": choose a width that makes heads ("
                        + model.preset().heads() + " x width) a whole number >= 1");
        check(model.context() == null || model.context() >= 1, "model.context must be >= 1 or null");
        check(model.initStd() > 0, "model.init_std must be > 0");
        check(model.embeddingStd() > 0, "model.embedding_std must be > 0");
        check(model.logitScale() > 0, "model.logit_scale must be > 0");
        check(model.layerNormEps() > 0, "model.layer_norm_eps must be > 0");
        check(model.qkDim() == null || model.qkDim() >= 1, "model.qk_dim " + model.qkDim()
                + " must be a positive integer (the per-head query/key dimension, e.g. 128) or null (= 64)");
        check(model.vDim() == null || model.vDim() >= 1, "model.v_dim " + model.vDim()
                + " must be a positive integer (the per-head value dimension, e.g. 128) or null (= 64)");

        check(slt.density() > 0 && slt.density() <= 1,
                "slt.density " + slt.density() + " is outside (0, 1]: it is the kept fraction, e.g. 0.3");
        if (slt.mode() == Mode.EDGEPOPUP) {
            long smallest = smallestMaskedTensor();
            double least = 0.5 / smallest; // round(density * n) >= 1
            check(Math.round(slt.density() * smallest) >= 1, "slt.density " + slt.density() + " keeps no weight of the "
                    + "smallest masked tensor (" + smallest + " entries; top-k is exact per tensor): use at least "
                    + String.format("%.3g", least) + ", and better >= " + String.format("%.3g", 1.0 / dModel())
                    + " (one kept weight per row of " + dModel() + " on average)");
        }
        String qk = slt.qkScale() == null ? "" : slt.qkScale().trim();
        boolean qkOk = qk.equalsIgnoreCase("auto");
        if (!qkOk) {
            try {
                double v = Double.parseDouble(qk);
                qkOk = v > 0 && Double.isFinite(v);
            } catch (NumberFormatException e) {
                qkOk = false;
            }
        }
        check(qkOk, "slt.qk_scale '" + slt.qkScale() + "' must be a positive number or auto (= qk_dim^(1/4), 2.83 for qk_dim 64)");

        check(data.path() != null && !data.path().isBlank(), "data.path must be the directory holding wiki.*.raw");
        check(data.holdout() >= 0 && data.holdout() < 1, "data.holdout must be in [0, 1)");
        check(data.trainSplit() != Split.VALID || data.holdout() > 0,
                "data.train_split valid with data.holdout 0 would validate on the training data: set data.holdout, e.g. 0.1");
        check(data.seqLen() >= 2, "data.seq_len must be >= 2");
        check(data.seqLen() <= context(),
                "data.seq_len " + data.seqLen() + " exceeds the model's " + context()
                        + " positions (preset " + model.preset().key() + "): set model.context >= "
                        + data.seqLen() + " or a smaller data.seq_len");

        check(train.epochs() >= 1, "train.epochs must be >= 1");
        check(train.stepsPerEpoch() >= 1, "train.steps_per_epoch must be >= 1");
        check(train.batchSize() >= 1, "train.batch_size must be >= 1");
        check(train.microBatch() >= 1, "train.micro_batch must be >= 1");
        check(train.batchSize() % train.microBatch() == 0,
                "train.batch_size " + train.batchSize() + " is not a multiple of train.micro_batch "
                        + train.microBatch() + ": choose a micro_batch that divides the batch size");
        check(train.accumulation() % run.replicas() == 0,
                "train.batch_size " + train.batchSize() + " makes " + train.accumulation() + " micro-batches of "
                        + "train.micro_batch " + train.microBatch() + ", which do not split evenly over run.replicas "
                        + run.replicas() + ": make batch_size a multiple of micro_batch x replicas ("
                        + (long) train.microBatch() * run.replicas() + ")");
        check(train.lr() > 0 && Double.isFinite(train.lr()), "train.lr must be a positive number");
        check(train.minLr() >= 0 && train.minLr() <= train.lr(),
                "train.min_lr " + train.minLr() + " must be between 0 and train.lr " + train.lr());
        check(train.warmupEpochs() >= 0 && train.warmupEpochs() <= train.epochs(),
                "train.warmup_epochs must be between 0 and train.epochs (" + train.epochs() + ")");
        check(train.weightDecay() >= 0, "train.weight_decay must be >= 0");
        check(train.beta1() >= 0 && train.beta1() < 1, "train.beta1 must be in [0, 1)");
        check(train.beta2() >= 0 && train.beta2() < 1, "train.beta2 must be in [0, 1)");
        check(train.eps() > 0, "train.eps must be > 0");
        check(train.gradClip() == null || train.gradClip() > 0, "train.grad_clip must be > 0 or null (no clipping)");
        check(train.evalEvery() == null || train.evalEvery() >= 1, "train.eval_every must be >= 1 or null (once per epoch)");
        check(train.evalWindows() == null || train.evalWindows() >= 1, "train.eval_windows must be >= 1 or null (all)");
        check(train.logEvery() >= 1, "train.log_every must be >= 1");
        check(train.checkpointEvery() == null || train.checkpointEvery() >= 1,
                "train.checkpoint_every must be >= 1 or null (once per epoch)");
        check(train.keepCheckpoints() >= 1, "train.keep_checkpoints must be >= 1");
        check(train.precision() != null, "train.precision must be one of auto, fp32, tf32, bf16, fp16");
        return this;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new UserError("bad config: " + message);
        }
    }
}
