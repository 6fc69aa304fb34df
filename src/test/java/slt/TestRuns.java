package slt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.model.Gpt2;
import slt.model.MaskedBlock;

/**
 * Small, fast run configs for tests: the tiny preset on WikiText-103's validation file (its last
 * 10 % of articles held out), short windows, everything written under a temporary directory.
 */
public final class TestRuns {
    /** The real WikiText-103 validation split, beside the repository (never written to). */
    public static final String DATA = "../shared/data/wikitext-103";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestRuns() {}

    /** Overrides for a tiny run writing under {@code tmp}; {@code extra} come last and win. */
    public static List<String> tinyOverrides(Path tmp, String... extra) {
        List<String> o = new ArrayList<>(List.of(
                "run.dir=" + tmp.resolve("runs"),
                "run.device=cpu",
                "model.preset=tiny",
                "model.logit_scale=4",
                "slt.qk_scale=auto",
                "data.path=" + DATA,
                "data.train_split=valid",
                "data.holdout=0.1",
                "data.seq_len=64",
                "data.cache_dir=" + tmp.resolve("cache"),
                "train.epochs=2",
                "train.steps_per_epoch=10",
                "train.batch_size=8",
                "train.micro_batch=4",
                "train.lr=3e-3",
                "train.min_lr=3e-4",
                "train.warmup_epochs=0.2",
                "train.eval_windows=16",
                "train.log_every=5"));
        o.addAll(Arrays.asList(extra));
        return o;
    }

    public static Config tiny(Path tmp, String... extra) {
        return ConfigLoader.load(null, tinyOverrides(tmp, extra));
    }

    /** The lines of a run's metrics.jsonl. */
    public static List<JsonNode> metrics(Path runDir) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    /** Metrics lines without their timing field (tokens_per_s), the part a rerun must reproduce. */
    public static List<JsonNode> withoutTiming(List<JsonNode> lines) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode n : lines) {
            ObjectNode c = n.deepCopy();
            c.remove("tokens_per_s");
            out.add(c);
        }
        return out;
    }

    /** The trained tensors (scores, or weights in dense mode) of a model, in model order. */
    public static List<float[]> trained(Gpt2 model) {
        List<float[]> out = new ArrayList<>();
        for (MaskedBlock b : model.weights()) {
            out.add(b.trainable().getArray().toFloatArray());
        }
        return out;
    }
}
