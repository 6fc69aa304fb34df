package slt.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import slt.UserError;
import slt.config.Config;
import slt.data.TokenWindows;
import slt.train.Evaluation;
import slt.train.LoadedModel;

/** {@code slt eval}: the loss of a run's checkpoint, or of a ticket, on the validation or test split. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a run's checkpoint (latest, --best or --step N) or a ticket; prints mean token loss and perplexity.")
final class EvalCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelSource source;

    @Option(names = "--split", defaultValue = "valid", paramLabel = "valid|test", description = "split to evaluate (default: ${DEFAULT-VALUE})")
    String split;

    @Option(names = "--windows", paramLabel = "N",
            description = "evaluate the first N windows; 0 = all (default: the run's train.eval_windows, as during training)")
    Integer windows;

    @Override
    public Integer call() {
        Config.Split s = switch (split.toLowerCase()) {
            case "valid" -> Config.Split.VALID;
            case "test" -> Config.Split.TEST;
            default -> throw new UserError("--split '" + split + "': choose valid or test");
        };
        if (windows != null && windows < 0) {
            throw new UserError("--windows must be >= 0 (0 = all windows)");
        }
        TokenWindows set = Evaluation.dataOf(source.config(), s); // missing data fails before a long model load
        try (LoadedModel m = source.load()) {
            Evaluation.Result r = Evaluation.of(m, set, windows);
            spec.commandLine().getOut().printf("%s %s step %d: loss %.6f ppl %.3f (%d windows of %d tokens)%n",
                    m.source(), split, r.step(), r.loss(), Math.exp(r.loss()), r.windows(), r.seqLen());
        }
        return 0;
    }
}
