package slt.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import slt.train.Faults;
import slt.train.Trainer;

/** {@code slt resume}: continue a stopped or killed run from its last intact checkpoint. */
@Command(name = "resume", mixinStandardHelpOptions = true,
        description = "Continue a run from its newest intact checkpoint, exactly as if it had not stopped.")
final class ResumeCommand implements Callable<Integer> {

    @Parameters(paramLabel = "RUN_DIR", description = "the run directory, e.g. checkpoints/quickstart")
    Path runDir;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "change a key that leaves the computation so far alone, e.g. train.epochs=60 or run.device=gpu")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        try (Trainer trainer = Trainer.resume(runDir, overrides)) {
            Signals.onStop(trainer::requestStop);
            Faults.installFromSystemProperties(trainer); // only tests set slt.test.* properties
            if (trainer.run() == null) {
                org.apache.logging.log4j.LogManager.getLogger(ResumeCommand.class).info("continue with: ./slt resume {}",
                        trainer.runDirectory().path());
            }
        }
        return 0;
    }
}
