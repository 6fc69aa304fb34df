package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import slt.checkpoint.RunState;
import slt.config.Config;
import slt.data.TokenWindows;
import slt.data.WindowSampler;
import slt.model.Constants;
import slt.model.Gpt2;
import slt.model.Host;
import slt.model.MaskedBlock;
import slt.model.Scoped;

/**
 * One optimizer step of edge-popup, the whole mathematics of training (with {@link MaskedBlock}
 * and {@link Gpt2}): masks from the current scores, once; per micro-batch the forward pass and
 * the backward pass, whose gradients add up to the gradient of the batch-mean loss; the
 * straight-through score gradients dL/dS; optional clipping of their global norm; AdamW on the
 * scores. A non-finite loss returns before anything is updated. With {@code train.precision fp16}
 * the loss is scaled up for the backward pass and the gradients back down ({@link
 * RunState.LossScale}); a step whose gradients overflow is skipped.
 *
 * <p>Data parallel over {@link Replicas} (one model per device, the same seed): micro-batch k of
 * the step goes to replica k mod N, each replica runs its micro-batches in its own thread, the
 * score gradients are summed onto the first replica in replica order, AdamW updates the first
 * replica's scores, and the others receive a copy. With one replica all of it runs on the
 * calling thread.
 */
public final class TrainStep {
    private final Replicas replicas;
    private final AdamW optimizer;
    private final TokenWindows trainSet;
    private final WindowSampler sampler;
    private final int microBatch;
    private final int accumulation;
    private final Double gradClip;
    private final boolean fp16;
    private RunState.LossScale lossScale = RunState.LossScale.START;

    TrainStep(Replicas replicas, AdamW optimizer, TokenWindows trainSet, Config.Train t, Config.Precision precision) {
        this.replicas = replicas;
        this.optimizer = optimizer;
        this.trainSet = trainSet;
        this.sampler = trainSet.sampler();
        this.microBatch = t.microBatch();
        this.accumulation = t.accumulation();
        this.gradClip = t.gradClip();
        this.fp16 = precision == Config.Precision.FP16;
    }

    /** fp16's loss scale as the last step left it (unchanged by other precisions). */
    RunState.LossScale lossScale() {
        return lossScale;
    }

    /** The loss scale the next step starts from (a restored or injected one). */
    void setLossScale(RunState.LossScale s) {
        this.lossScale = s;
    }

    /** One step at learning rate {@code lr}; returns the batch's mean training loss. */
    public double run(double lr) {
        return run(lr, null);
    }

    /** As {@link #run(double)}, adding each phase's time to {@code profile} when it is not null. */
    public double run(double lr, StepProfile profile) {
        long t0 = System.nanoTime();
        replicas.forEachModel(Gpt2::refreshMasks);
        if (profile != null) {
            profile.maskNs += System.nanoTime() - t0; // ends with exact counts read on the host: synchronised
        }
        double loss = forwardBackward(profile);
        if (!Double.isFinite(loss)) {
            replicas.clearGradients();
            return loss;
        }
        long t5 = System.nanoTime();
        try (NDScope ignored = new NDScope()) {
            Map<String, NDArray> grads = replicas.summedGradients(); // dL/dS by the straight-through rule; dense: autograd's
            if (profile != null && replicas.size() > 1) {
                StepProfile.sync(grads.values().iterator().next());
                profile.reduceNs += System.nanoTime() - t5;
                t5 = System.nanoTime();
            }
            if (fp16) { // the gradients are lossScale x too large: overflowed, the step is skipped; else unscaled
                if (!Double.isFinite(AdamW.gradNorm(grads))) {
                    lossScale = lossScale.afterOverflow();
                    replicas.clearGradients();
                    return loss;
                }
                AdamW.scaleGradients(grads, 1 / lossScale.scale());
                lossScale = lossScale.afterCleanStep();
            }
            if (gradClip != null) {
                double norm = AdamW.gradNorm(grads);
                if (norm > gradClip) {
                    AdamW.scaleGradients(grads, gradClip / norm);
                }
            }
            optimizer.step(lr, grads);
        }
        replicas.clearGradients();
        if (profile != null) {
            StepProfile.sync(anyTrained(replicas.first()));
            profile.optimizerNs += System.nanoTime() - t5;
        }
        long t6 = System.nanoTime();
        replicas.copyTrainedFromFirst();
        if (profile != null) {
            if (replicas.size() > 1) {
                StepProfile.sync(anyTrained(replicas.last()));
                profile.reduceNs += System.nanoTime() - t6;
            }
            profile.steps++;
        }
        return loss;
    }

    /**
     * The micro-batches of the step, drawn in order and dealt to the replicas (k mod N). Per
     * micro-batch: the blocks' forward pass; the LM head and the loss a chunk of rows at a time,
     * each chunk's backward pass right after it (only one chunk's logits live at once); then the
     * blocks' backward pass from the gradient the chunks left on the final hidden states. Returns
     * the mean of the micro-batches' mean losses (float32 losses added in double, in micro-batch order).
     */
    private double forwardBackward(StepProfile profile) {
        int n = replicas.size();
        List<List<long[]>> dealt = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            dealt.add(new ArrayList<>());
        }
        for (int micro = 0; micro < accumulation; micro++) {
            dealt.get(micro % n).add(sampler.next(microBatch));
        }
        List<double[]> perReplica = replicas.each(r -> replicaPasses(replicas.get(r).model(), replicas.get(r).manager(),
                dealt.get(r), profile));
        double sum = 0;
        for (int micro = 0; micro < accumulation; micro++) {
            sum += perReplica.get(micro % n)[micro / n];
        }
        return sum / accumulation;
    }

    /** One replica's micro-batches, forward and backward, in this thread; their mean losses. */
    private double[] replicaPasses(Gpt2 model, NDManager manager, List<long[]> batches, StepProfile profile) {
        List<NDArray> losses = new ArrayList<>(batches.size()); // stay on the device: one read per replica
        boolean gradMode = JniUtils.isGradMode(); // thread-local in libtorch: on for this thread's passes
        JniUtils.setGradMode(true);
        try {
            for (long[] windows : batches) {
                try (NDScope ignored = new NDScope()) {
                    long t1 = System.nanoTime();
                    NDList batch = trainSet.batch(manager, windows);
                    long tokens = batch.get(1).size();
                    long t2 = System.nanoTime();
                    NDArray h = Scoped.call(() -> model.hidden(batch.get(0)));
                    NDArray flat = h.reshape(tokens, h.getShape().get(2));
                    NDArray leaf = flat.stopGradient();
                    leaf.setRequiresGradient(true);
                    if (profile != null) {
                        StepProfile.sync(leaf);
                    }
                    long t3 = System.nanoTime();
                    double scale = (double) tokens * accumulation / (fp16 ? lossScale.scale() : 1);
                    NDArray nll = Losses.chunkedNllSum(model, leaf, batch.get(1).reshape(tokens),
                            chunk -> backward(Constants.div(chunk, scale)));
                    backward(flat.mul(leaf.getGradient()).sum()); // d/dh = what the head sent back
                    NDArray value = Constants.div(nll, tokens); // the micro-batch's mean loss, on the device
                    NDScope.unregister(value);
                    losses.add(value);
                    if (profile != null) {
                        StepProfile.sync(anyGradient(model, nll));
                        long t4 = System.nanoTime();
                        synchronized (profile) {
                            profile.dataNs += t2 - t1;
                            profile.forwardNs += t3 - t2;
                            profile.backwardNs += t4 - t3;
                        }
                    }
                }
            }
            return Host.stacked(losses);
        } finally {
            losses.forEach(NDArray::close);
            JniUtils.setGradMode(gradMode);
        }
    }

    /**
     * Backward from a scalar {@code target} into every leaf it depends on, on this thread (DJL's
     * own {@code GradientCollector} allows one per process, which replica threads cannot share).
     */
    private static void backward(NDArray target) {
        try (NDArray ones = target.onesLike()) {
            JniUtils.backward((PtNDArray) target, (PtNDArray) ones, false, false);
        }
    }

    /** The first trained tensor of {@code model} (null if nothing trains): what profiled phases wait for. */
    private static NDArray anyTrained(Gpt2 model) {
        return model.trainable().values().stream().findFirst().map(Parameter::getArray).orElse(null);
    }

    /** The gradient autograd accumulated for the first trained tensor, or {@code fallback} when nothing trains. */
    private static NDArray anyGradient(Gpt2 model, NDArray fallback) {
        for (MaskedBlock w : model.weights()) {
            if (w.role() != MaskedBlock.Role.FROZEN) {
                return w.effectiveWeight().getGradient();
            }
        }
        return fallback;
    }
}
