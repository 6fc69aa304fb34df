package slt.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import slt.config.Config;
import slt.config.ConfigLoader;
import slt.train.Faults;
import slt.train.Trainer;

/** {@code slt train}: a new run from a config file. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a GPT-2 with edge-popup (or dense) from a config; writes <run.dir>/<run.name>/.")
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "run config, e.g. configs/quickstart.yaml")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (repeatable), e.g. --set slt.qk_scale=auto")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--force", description = "start even if the run directory holds a run (the old one is moved aside, not deleted)")
    boolean force;

    @Override
    public Integer call() throws Exception {
        Config cfg = ConfigLoader.load(config, overrides);
        try (Trainer trainer = Trainer.create(cfg, force)) {
            Signals.onStop(trainer::requestStop);
            Faults.installFromSystemProperties(trainer); // only tests set slt.test.* properties
            if (trainer.run() == null) {
                org.apache.logging.log4j.LogManager.getLogger(TrainCommand.class).info("continue with: ./slt resume {}",
                        trainer.runDirectory().path());
            }
        }
        return 0;
    }
}
