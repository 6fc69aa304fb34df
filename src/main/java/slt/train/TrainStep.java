package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
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
import slt.train.StepProfile.Phase;
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
        long t = System.nanoTime();
        replicas.forEachModel(Gpt2::refreshMasks);
        StepProfile.lap(profile, Phase.MASK, t, null); // ends with exact counts read on the host: synchronised
        double loss = forwardBackward(profile);
        if (Double.isFinite(loss)) {
            t = System.nanoTime();
            try (NDScope ignored = new NDScope()) {
                Map<String, NDArray> grads = replicas.summedGradients(); // dL/dS by the straight-through rule; dense: autograd's
                if (replicas.size() > 1) {
                    t = StepProfile.lap(profile, Phase.REDUCE, t, replicas.get(0).manager());
                }
                if (!fp16 || unscaled(grads)) {
                    clip(grads);
                    optimizer.step(lr, grads);
                }
            }
            t = StepProfile.lap(profile, Phase.OPTIMIZER, t, replicas.get(0).manager());
            replicas.copyTrainedFromFirst();
            if (replicas.size() > 1) {
                StepProfile.lap(profile, Phase.REDUCE, t, replicas.get(replicas.size() - 1).manager());
            }
            StepProfile.stepDone(profile);
        }
        replicas.clearGradients();
        return loss;
    }

    /**
     * fp16: the gradients are lossScale x too large. If they overflowed, the step is skipped (false)
     * and the scale shrinks; otherwise they are scaled back down in place (true).
     */
    private boolean unscaled(Map<String, NDArray> grads) {
        if (!Double.isFinite(AdamW.gradNorm(grads))) {
            lossScale = lossScale.afterOverflow();
            return false;
        }
        AdamW.scaleGradients(grads, 1 / lossScale.scale());
        lossScale = lossScale.afterCleanStep();
        return true;
    }

    /** Scales the gradients down in place to a global norm of train.grad_clip when they exceed it. */
    private void clip(Map<String, NDArray> grads) {
        if (gradClip != null) {
            double norm = AdamW.gradNorm(grads);
            if (norm > gradClip) {
                AdamW.scaleGradients(grads, gradClip / norm);
            }
        }
    }

    /**
     * The micro-batches of the step, drawn in order and dealt to the replicas (k mod N). Per
     * micro-batch: the blocks' forward pass; the LM head and the loss with their gradients in one
     * fused pass ({@link Gpt2#headLoss}: a chunk of rows at a time, no logits graph); then the
     * backward pass from those gradients into the token table and through the blocks. Returns
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
                    long t = System.nanoTime();
                    NDList batch = trainSet.batch(manager, windows);
                    long tokens = batch.get(1).size();
                    t = StepProfile.lap(profile, Phase.DATA, t, null);
                    NDArray h = Scoped.call(() -> model.hidden(batch.get(0)));
                    NDArray flat = h.reshape(tokens, h.getShape().get(2));
                    t = StepProfile.lap(profile, Phase.FORWARD, t, manager);
                    double scale = (double) tokens * accumulation / (fp16 ? lossScale.scale() : 1);
                    NDArray nll = model.headLoss(flat, batch.get(1).reshape(tokens), 1 / scale, TrainStep::backward);
                    NDArray value = Constants.div(nll, tokens); // the micro-batch's mean loss, on the device
                    NDScope.unregister(value);
                    losses.add(value);
                    StepProfile.lap(profile, Phase.BACKWARD, t, manager);
                }
            }
            return Host.stacked(losses);
        } finally {
            losses.forEach(NDArray::close);
            JniUtils.setGradMode(gradMode);
        }
    }

    /**
     * Backward from {@code root}, whose loss gradient is {@code gradient}, into every leaf it depends
     * on, on this thread (DJL's own {@code GradientCollector} allows one per process, which replica
     * threads cannot share).
     */
    private static void backward(NDArray root, NDArray gradient) {
        JniUtils.backward((PtNDArray) root, (PtNDArray) gradient, false, false);
    }
}
