package slt.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * scores. A non-finite loss returns before anything is updated.
 */
public final class TrainStep {
    private final Gpt2 model;
    private final AdamW optimizer;
    private final TokenWindows trainSet;
    private final WindowSampler sampler;
    private final NDManager manager;
    private final int microBatch;
    private final int accumulation;
    private final Double gradClip;

    TrainStep(Gpt2 model, AdamW optimizer, TokenWindows trainSet, NDManager manager, Config.Train t) {
        this.model = model;
        this.optimizer = optimizer;
        this.trainSet = trainSet;
        this.sampler = trainSet.sampler();
        this.manager = manager;
        this.microBatch = t.microBatch();
        this.accumulation = t.accumulation();
        this.gradClip = t.gradClip();
    }

    /** One step at learning rate {@code lr}; returns the batch's mean training loss. */
    public double run(double lr) {
        return run(lr, null);
    }

    /** As {@link #run(double)}, adding each phase's time to {@code profile} when it is not null. */
    public double run(double lr, StepProfile profile) {
        long t0 = System.nanoTime();
        model.refreshMasks();
        if (profile != null) {
            profile.maskNs += System.nanoTime() - t0; // ends with exact counts read on the host: synchronised
        }
        double loss = forwardBackward(profile);
        if (!Double.isFinite(loss)) {
            model.clearGradients();
            return loss;
        }
        long t5 = System.nanoTime();
        try (NDScope ignored = new NDScope()) {
            Map<String, NDArray> grads = model.gradients(); // dL/dS by the straight-through rule; dense: autograd's
            if (gradClip != null) {
                double norm = AdamW.gradNorm(grads);
                if (norm > gradClip) {
                    AdamW.scaleGradients(grads, gradClip / norm);
                }
            }
            optimizer.step(lr, grads);
        }
        model.clearGradients();
        if (profile != null) {
            StepProfile.sync(anyTrained());
            profile.optimizerNs += System.nanoTime() - t5;
            profile.steps++;
        }
        return loss;
    }

    /**
     * The micro-batches: the blocks' forward pass; the LM head and the loss a chunk of rows at a
     * time, each chunk's backward pass right after it (only one chunk's logits live at once); then
     * the blocks' backward pass from the gradient the chunks left on the final hidden states.
     * Returns the mean of the micro-batches' mean losses (float32 losses added in double, in order).
     */
    private double forwardBackward(StepProfile profile) {
        List<NDArray> losses = new ArrayList<>(accumulation); // stay on the device: one read for the step
        try {
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                for (int micro = 0; micro < accumulation; micro++) {
                    try (NDScope ignored = new NDScope()) {
                        long t1 = System.nanoTime();
                        NDList batch = trainSet.batch(manager, sampler.next(microBatch));
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
                        double scale = (double) tokens * accumulation;
                        NDArray nll = Losses.chunkedNllSum(model, leaf, batch.get(1).reshape(tokens),
                                chunk -> collector.backward(Constants.div(chunk, scale)));
                        collector.backward(flat.mul(leaf.getGradient()).sum()); // d/dh = what the head sent back
                        NDArray value = Constants.div(nll, tokens); // the micro-batch's mean loss, on the device
                        NDScope.unregister(value);
                        losses.add(value);
                        if (profile != null) {
                            StepProfile.sync(anyGradient(nll));
                            long t4 = System.nanoTime();
                            profile.dataNs += t2 - t1;
                            profile.forwardNs += t3 - t2;
                            profile.backwardNs += t4 - t3;
                        }
                    }
                }
            }
            double sum = 0;
            for (double l : Host.stacked(losses)) {
                sum += l;
            }
            return sum / accumulation;
        } finally {
            losses.forEach(NDArray::close);
        }
    }

    /** The first trained tensor (null if nothing trains): what profiled phases wait for. */
    private NDArray anyTrained() {
        return model.trainable().values().stream().findFirst().map(Parameter::getArray).orElse(null);
    }

    /** The gradient autograd accumulated for the first trained tensor, or {@code fallback} when nothing trains. */
    private NDArray anyGradient(NDArray fallback) {
        for (MaskedBlock w : model.weights()) {
            if (w.role() != MaskedBlock.Role.FROZEN) {
                return w.effectiveWeight().getGradient();
            }
        }
        return fallback;
    }
}
