package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 *
 * <p>Data parallel over {@code replicas} (one model per device, the same seed): micro-batch k of
 * the step goes to replica k mod N, each replica runs its micro-batches in its own thread, the
 * score gradients are summed onto the first replica in replica order, AdamW updates the first
 * replica's scores, and the others receive a copy. With one replica all of it runs on the
 * calling thread.
 */
public final class TrainStep implements AutoCloseable {
    /** One model replica on its own device (the first one is the run's model and holds the optimizer). */
    public record Replica(Gpt2 model, NDManager manager) {}

    private final List<Replica> replicas;
    private final AdamW optimizer;
    private final TokenWindows trainSet;
    private final WindowSampler sampler;
    private final int microBatch;
    private final int accumulation;
    private final Double gradClip;
    private final ExecutorService workers; // null with one replica

    TrainStep(List<Replica> replicas, AdamW optimizer, TokenWindows trainSet, Config.Train t) {
        this.replicas = List.copyOf(replicas);
        this.optimizer = optimizer;
        this.trainSet = trainSet;
        this.sampler = trainSet.sampler();
        this.microBatch = t.microBatch();
        this.accumulation = t.accumulation();
        this.gradClip = t.gradClip();
        this.workers = replicas.size() == 1 ? null : Executors.newFixedThreadPool(replicas.size(), r -> {
            Thread th = new Thread(r, "replica");
            th.setDaemon(true);
            return th;
        });
    }

    /** One step at learning rate {@code lr}; returns the batch's mean training loss. */
    public double run(double lr) {
        return run(lr, null);
    }

    /** As {@link #run(double)}, adding each phase's time to {@code profile} when it is not null. */
    public double run(double lr, StepProfile profile) {
        long t0 = System.nanoTime();
        onEachReplica(r -> r.model().refreshMasks());
        if (profile != null) {
            profile.maskNs += System.nanoTime() - t0; // ends with exact counts read on the host: synchronised
        }
        double loss = forwardBackward(profile);
        Gpt2 first = replicas.get(0).model();
        if (!Double.isFinite(loss)) {
            replicas.forEach(r -> r.model().clearGradients());
            return loss;
        }
        long t5 = System.nanoTime();
        try (NDScope ignored = new NDScope()) {
            Map<String, NDArray> grads = first.gradients(); // dL/dS by the straight-through rule; dense: autograd's
            for (Replica r : replicas.subList(1, replicas.size())) { // summed in replica order: deterministic
                for (Map.Entry<String, NDArray> g : r.model().gradients().entrySet()) {
                    NDArray sum = grads.get(g.getKey());
                    sum.addi(g.getValue().toDevice(sum.getDevice(), false));
                }
            }
            if (profile != null && replicas.size() > 1) {
                StepProfile.sync(grads.values().iterator().next());
                profile.reduceNs += System.nanoTime() - t5;
                t5 = System.nanoTime();
            }
            if (gradClip != null) {
                double norm = AdamW.gradNorm(grads);
                if (norm > gradClip) {
                    AdamW.scaleGradients(grads, gradClip / norm);
                }
            }
            optimizer.step(lr, grads);
        }
        replicas.forEach(r -> r.model().clearGradients());
        if (profile != null) {
            StepProfile.sync(anyTrained(first));
            profile.optimizerNs += System.nanoTime() - t5;
        }
        long t6 = System.nanoTime();
        copyScoresToReplicas();
        if (profile != null) {
            if (replicas.size() > 1) {
                StepProfile.sync(anyTrained(replicas.get(replicas.size() - 1).model()));
                profile.reduceNs += System.nanoTime() - t6;
            }
            profile.steps++;
        }
        return loss;
    }

    /** Gives every other replica the first replica's trained tensors (after an update or a restore). */
    void copyScoresToReplicas() {
        Map<String, Parameter> source = replicas.get(0).model().trainable();
        for (Replica r : replicas.subList(1, replicas.size())) {
            for (Map.Entry<String, Parameter> p : r.model().trainable().entrySet()) {
                NDArray target = p.getValue().getArray();
                try (NDScope ignored = new NDScope()) {
                    target.set(new NDIndex("..."), source.get(p.getKey()).getArray().toDevice(target.getDevice(), false));
                }
            }
        }
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
        double[][] perReplica = new double[n][];
        List<Runnable> jobs = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int index = r;
            jobs.add(() -> perReplica[index] = replicaPasses(replicas.get(index), dealt.get(index), profile));
        }
        run(jobs);
        double sum = 0;
        for (int micro = 0; micro < accumulation; micro++) {
            sum += perReplica[micro % n][micro / n];
        }
        return sum / accumulation;
    }

    /** One replica's micro-batches, forward and backward, in this thread; their mean losses. */
    private double[] replicaPasses(Replica replica, List<long[]> batches, StepProfile profile) {
        Gpt2 model = replica.model();
        List<NDArray> losses = new ArrayList<>(batches.size()); // stay on the device: one read per replica
        boolean gradMode = JniUtils.isGradMode(); // thread-local in libtorch: on for this thread's passes
        JniUtils.setGradMode(true);
        try {
            for (long[] windows : batches) {
                try (NDScope ignored = new NDScope()) {
                    long t1 = System.nanoTime();
                    NDList batch = trainSet.batch(replica.manager(), windows);
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

    /** Runs {@code job} for every replica, in parallel when there are several; rethrows what any threw. */
    private void onEachReplica(java.util.function.Consumer<Replica> job) {
        List<Runnable> jobs = new ArrayList<>();
        for (Replica r : replicas) {
            jobs.add(() -> job.accept(r));
        }
        run(jobs);
    }

    private void run(List<Runnable> jobs) {
        if (workers == null) {
            jobs.forEach(Runnable::run);
            return;
        }
        List<Future<?>> done = new ArrayList<>();
        for (Runnable j : jobs) {
            done.add(workers.submit(j));
        }
        RuntimeException failure = null;
        for (Future<?> f : done) { // wait for all, even after one failed: no replica is left mid-pass
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the replicas ran", e);
            }
        }
        if (failure != null) {
            throw failure;
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

    @Override
    public void close() {
        if (workers != null) {
            workers.shutdownNow();
        }
    }
}
