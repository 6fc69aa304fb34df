package slt.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import slt.UserError;
import slt.data.Gpt2Tokenizer;
import slt.train.LoadedModel;
import slt.train.TextGenerator;

/** {@code slt generate}: sample text from a ticket or a run's checkpoint. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Sample text from a ticket (or a run's checkpoint) after a prompt.")
final class GenerateCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelSource source;

    @Option(names = "--prompt", defaultValue = "", description = "text to continue (default: start of a document)")
    String prompt;

    @Option(names = "--tokens", defaultValue = "50", description = "tokens to generate (default: ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--temperature", defaultValue = "1.0", description = "softmax temperature; 0 = greedy (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-k", defaultValue = "50", description = "sample among the k most likely tokens; 0 = all (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--seed", defaultValue = "1", description = "sampling seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
        if (tokens < 1) {
            throw new UserError("--tokens " + tokens + ": generate at least 1 token");
        }
        if (!(temperature >= 0)) {
            throw new UserError("--temperature " + temperature + ": give 0 (greedy) or more");
        }
        if (topK < 0) {
            throw new UserError("--top-k " + topK + ": give 0 (all tokens) or more");
        }
        try (LoadedModel m = source.load()) {
            int[] out = TextGenerator.generate(m.model(), m.manager(), Gpt2Tokenizer.encode(prompt), tokens, temperature,
                    topK, seed);
            spec.commandLine().getOut().println(prompt + Gpt2Tokenizer.decode(out));
        }
        return 0;
    }
}
