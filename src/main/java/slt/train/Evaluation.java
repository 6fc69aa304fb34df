package slt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import slt.UserError;
import slt.checkpoint.Checkpoints;
import slt.checkpoint.SafeTensors;
import slt.config.Config;
import slt.data.Corpus;
import slt.data.TokenWindows;
import slt.model.Gpt2;
import slt.model.MaskSelector;
import slt.model.ModelSpec;

/** Evaluation of a saved run: rebuild the model from the seed, load its trained tensors, measure. */
public final class Evaluation {
    private Evaluation() {}

    /** Loss of one checkpoint on one split. */
    public record Result(long step, double loss, long windows, int seqLen) {}

    /** Evaluates the latest (or best) checkpoint of {@code runDir} on {@code split}. */
    public static Result ofRun(Path runDir, Config.Split split, boolean best, Integer windows) throws IOException {
        RunDirectory run = RunDirectory.open(runDir);
        Config config = run.config();
        Devices.configureThreads(config.run().threads());
        Checkpoints.Checkpoint ckpt = (best ? run.checkpoints().best() : run.checkpoints().latest())
                .orElseThrow(() -> new UserError(runDir + " has no usable " + (best ? "best " : "") + "checkpoint yet: "
                        + "a run saves one every train.checkpoint_every steps and at its end"));
        TokenWindows set = Corpus.eval(config.data(), split, config.train().microBatch());
        try (NDManager manager = NDManager.newBaseManager(Devices.resolve(config.run().device()))) {
            Gpt2 model = Gpt2.create(ModelSpec.from(config), manager);
            Map<String, NDArray> saved = SafeTensors.read(ckpt.model(), manager);
            model.loadTrainable(saved);
            MaskSelector.update(model.weights(), config.slt().density(), config.slt().scope());
            long n = windows == null ? set.windows() : Math.min(windows, set.windows());
            double loss = Evaluator.meanLoss(model, set, windows, config.train().microBatch(), manager);
            return new Result(ckpt.step(), loss, n, set.seqLen());
        }
    }
}
