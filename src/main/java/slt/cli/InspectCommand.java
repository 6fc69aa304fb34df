package slt.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import slt.UserError;
import slt.config.Config;
import slt.report.AnatomyReport;
import slt.report.TicketAnatomy;
import slt.train.LoadedModel;

/**
 * {@code slt inspect}: the anatomy of a ticket (a run's checkpoint or a ticket file): mask density
 * per tensor, projection kind, layer and head, score statistics, and how the Q/K masks relate to
 * weight magnitude; printed, and written as anatomy.csv, anatomy.md and two PNG charts.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Inspect a ticket (a run's checkpoint or a ticket file): where its masks keep weights.",
            "Density per tensor, projection kind (Q, K, V, attention output, MLP in/out, embeddings), layer and head; "
                + "score statistics (runs only: a ticket holds no scores); how the Q/K masks relate to |weight|.",
            "Files (in --out): anatomy.csv, anatomy.md, anatomy-heads.png, anatomy-kinds.png"})
final class InspectCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelSource source;

    @Option(names = "--out", paramLabel = "DIR",
            description = "output directory (default: <run dir>/inspect-step<N>/, or <ticket>.inspect/ beside a ticket)")
    Path out;

    @Option(names = "--force", description = "write into an output directory that is not empty (replacing the anatomy files)")
    boolean force;

    @Override
    public Integer call() throws IOException {
        boolean ticket = source.where.ticket != null;
        Config config = source.config(); // cheap: a dense run is refused before the model is built
        if (config.slt().mode() == Config.Mode.DENSE) {
            throw new UserError((ticket ? source.where.ticket : source.where.runDir) + " is a dense run (slt.mode: dense): "
                    + "its weights were trained, so it has no masks to inspect; inspect an edge-popup run or a ticket");
        }
        Path early = outDir(source.step); // known before loading unless the step is latest/best
        if (early != null) {
            checkOut(early);
        }
        try (LoadedModel m = source.load()) {
            Path dir = outDir(m.step());
            checkOut(dir);
            TicketAnatomy a = TicketAnatomy.of(m.model(), m.source(), m.step(), !ticket);
            PrintWriter o = spec.commandLine().getOut();
            o.print(AnatomyReport.table(a));
            List<Path> files = AnatomyReport.write(a, dir);
            o.printf("%nwrote %s: %s%n", dir, String.join(", ", files.stream().map(p -> p.getFileName().toString()).toList()));
            o.flush();
        }
        return 0;
    }

    /** The output directory, or null while the step it is named after is not known yet. */
    private Path outDir(Long step) {
        if (out != null) {
            return out;
        }
        if (source.where.ticket != null) {
            Path t = source.where.ticket;
            return t.resolveSibling(t.getFileName() + ".inspect");
        }
        return step == null ? null : source.where.runDir.resolve("inspect-step" + step);
    }

    private void checkOut(Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new UserError(dir + " exists and is not a directory: choose another --out");
        }
        if (Files.isDirectory(dir) && !force) {
            try (Stream<Path> s = Files.list(dir)) {
                if (s.findAny().isPresent()) {
                    throw new UserError(dir + " already exists and is not empty: choose another --out, "
                            + "or pass --force to replace the anatomy files in it");
                }
            }
        }
    }
}
