package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import slt.model.Gpt2;

/**
 * The model replicas of data parallel training (one per device, built from the same seed) and
 * the plumbing between them, so that {@link TrainStep} reads as mathematics: run a job on every
 * replica (each in its own thread when there are several), sum their gradients onto the first
 * in replica order, and copy the first replica's trained tensors to the others.
 */
final class Replicas implements AutoCloseable {
    /** One model replica on its own device (the first one is the run's model and holds the optimizer). */
    record Replica(Gpt2 model, NDManager manager) {}

    private final List<Replica> replicas;
    private final ExecutorService workers; // null with one replica: everything on the calling thread

    Replicas(List<Replica> replicas) {
        this.replicas = List.copyOf(replicas);
        this.workers = replicas.size() == 1 ? null : Executors.newFixedThreadPool(replicas.size(), r -> {
            Thread th = new Thread(r, "replica");
            th.setDaemon(true);
            return th;
        });
    }

    int size() {
        return replicas.size();
    }

    Replica get(int i) {
        return replicas.get(i);
    }

    Gpt2 first() {
        return replicas.get(0).model();
    }

    Gpt2 last() {
        return replicas.get(replicas.size() - 1).model();
    }

    /** {@code job} on every replica's model, in parallel when there are several. */
    void forEachModel(java.util.function.Consumer<Gpt2> job) {
        each(i -> {
            job.accept(replicas.get(i).model());
            return null;
        });
    }

    /** {@code job(i)} for every replica i, in parallel when there are several; their results in replica order. */
    <T> List<T> each(IntFunction<T> job) {
        List<T> out = new ArrayList<>();
        if (workers == null) {
            out.add(job.apply(0));
            return out;
        }
        List<Future<T>> done = new ArrayList<>();
        for (int i = 0; i < replicas.size(); i++) {
            int index = i;
            done.add(workers.submit(() -> job.apply(index)));
        }
        RuntimeException failure = null;
        for (Future<T> f : done) { // wait for all, even after one failed: no replica is left mid-pass
            try {
                out.add(f.get());
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
        return out;
    }

    /**
     * The step's gradients of the trained tensors: the first replica's, with every other
     * replica's added in replica order (deterministic), on the first replica's device. Closed
     * with the caller's scope.
     */
    Map<String, NDArray> summedGradients() {
        Map<String, NDArray> grads = first().gradients();
        for (Replica r : replicas.subList(1, replicas.size())) {
            for (Map.Entry<String, NDArray> g : r.model().gradients().entrySet()) {
                NDArray sum = grads.get(g.getKey());
                sum.addi(g.getValue().toDevice(sum.getDevice(), false));
            }
        }
        return grads;
    }

    void clearGradients() {
        replicas.forEach(r -> r.model().clearGradients());
    }

    /** Gives every other replica the first replica's trained tensors (after an update or a restore). */
    void copyTrainedFromFirst() {
        Map<String, Parameter> source = first().trainable();
        for (Replica r : replicas.subList(1, replicas.size())) {
            for (Map.Entry<String, Parameter> p : r.model().trainable().entrySet()) {
                NDArray target = p.getValue().getArray();
                try (NDScope ignored = new NDScope()) {
                    target.set(new NDIndex("..."), source.get(p.getKey()).getArray().toDevice(target.getDevice(), false));
                }
            }
        }
    }

    /** Stops the replicas' threads and closes the managers of the replicas after the first (the first is the run's). */
    @Override
    public void close() {
        if (workers != null) {
            workers.shutdownNow();
        }
        replicas.subList(1, replicas.size()).forEach(r -> r.manager().close());
    }
}
