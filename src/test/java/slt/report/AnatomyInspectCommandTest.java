package slt.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import slt.TestRuns;
import slt.UserError;
import slt.cli.Main;
import slt.config.ConfigLoader;
import slt.train.LoadedModel;
import slt.train.Trainer;

/** {@code slt inspect} end to end on a short real run, its ticket, and a dense run. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AnatomyInspectCommandTest {
    @TempDir
    static Path tmp;

    private Path runDir;
    private Path ticket;
    private String inMemoryCsv;

    /** A 4-step run; its latest checkpoint's anatomy computed in memory, and its ticket. */
    @BeforeAll
    void shortRun() throws IOException {
        try (Trainer t = Trainer.create(TestRuns.tiny(tmp, "run.name=inspect", "data.seq_len=32", "train.batch_size=4",
                "train.micro_batch=4", "train.epochs=1", "train.steps_per_epoch=4", "train.eval_every=4",
                "train.eval_windows=2", "train.warmup_epochs=0.5"), false)) {
            t.run();
        }
        runDir = tmp.resolve("runs/inspect");
        ticket = tmp.resolve("run.ticket");
        try (LoadedModel m = LoadedModel.fromRun(runDir, LoadedModel.Which.LATEST, null, List.of())) {
            assertEquals(4, m.step());
            inMemoryCsv = AnatomyReport.csv(TicketAnatomy.of(m.model(), m.source(), m.step(), true));
            m.ticket().write(ticket);
        }
    }

    record Result(int code, String out, String err) {}

    /**
     * Runs {@code slt ...} through {@link Main#run}; while {@code inspect} is not yet registered in
     * Main, runs the command class itself the way Main does (UserError: one line, exit 2).
     */
    private static Result cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code;
        try (PrintWriter o = new PrintWriter(out, true); PrintWriter e = new PrintWriter(err, true)) {
            if (new CommandLine(new Main()).getSubcommands().containsKey("inspect")) {
                code = Main.run(o, e, args);
            } else {
                System.err.println("note: slt.cli.Main does not register InspectCommand yet; running it directly");
                assertEquals("inspect", args[0]);
                CommandLine cl;
                try {
                    cl = new CommandLine(Class.forName("slt.cli.InspectCommand"));
                } catch (ClassNotFoundException ex) {
                    throw new AssertionError(ex);
                }
                cl.setOut(o).setErr(e);
                cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
                    Throwable c = ex;
                    while (!(c instanceof UserError) && c.getCause() != null) {
                        c = c.getCause();
                    }
                    if (c instanceof UserError) {
                        cmd.getErr().println("error: " + c.getMessage());
                        return 2;
                    }
                    throw ex;
                });
                code = cl.execute(Arrays.copyOfRange(args, 1, args.length));
            }
        }
        return new Result(code, out.toString(), err.toString());
    }

    private static String userError(Result r) {
        assertEquals(2, r.code(), "exit code; stderr:\n" + r.err());
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), "one line on stderr:\n" + r.err());
        assertTrue(lines.get(0).startsWith("error: "), lines.get(0));
        assertEquals("", r.out());
        return lines.get(0);
    }

    /** anatomy.csv without the score columns: what a run and its ticket must share. */
    private static List<String> withoutScores(String csv) {
        return csv.lines().map(l -> {
            String[] c = l.split(",", -1);
            return String.join(",", Arrays.copyOfRange(c, 0, 8)) + "|" + String.join(",", Arrays.copyOfRange(c, 13, c.length));
        }).toList();
    }

    @Test
    void aDenseRunIsRefusedInOneLine() throws IOException {
        Path dense = tmp.resolve("dense");
        Files.createDirectories(dense);
        Files.writeString(dense.resolve("config.yaml"), ConfigLoader.toYaml(TestRuns.tiny(tmp, "slt.mode=dense")));
        String line = userError(cli("inspect", "--run-dir", dense.toString()));
        assertTrue(line.contains("dense") && line.contains("no masks"), line);
        try (var s = Files.list(dense)) {
            assertEquals(1, s.count(), "nothing written");
        }
    }

    @Test
    void aRunIsInspectedIntoItsDirectoryAndNotOverwrittenWithoutForce() throws IOException {
        Result r = cli("inspect", "--run-dir", runDir.toString());
        assertEquals(0, r.code(), r.err());
        Path dir = runDir.resolve("inspect-step4");
        for (String f : AnatomyReport.FILES) {
            assertTrue(Files.size(dir.resolve(f)) > 500, f);
        }
        assertNotNull(ImageIO.read(dir.resolve(AnatomyReport.HEATMAP).toFile()));
        assertNotNull(ImageIO.read(dir.resolve(AnatomyReport.BARS).toFile()));
        for (String s : List.of("density by projection kind", "density by layer", "density by head", "Q/K masks vs |weight|",
                "score statistics per tensor", "h.1.attn.c_attn", "wrote " + dir)) {
            assertTrue(r.out().contains(s), "printed table has '" + s + "':\n" + r.out());
        }
        assertEquals(inMemoryCsv, Files.readString(dir.resolve(AnatomyReport.CSV)),
                "the CSV holds the anatomy of the loaded checkpoint");
        List<String> csv = Files.readAllLines(dir.resolve(AnatomyReport.CSV));
        String c = csv.stream().filter(l -> l.startsWith("tensor,qkv,0,")).findFirst().orElseThrow();
        assertFalse(c.split(",", -1)[12].isEmpty(), "a run reports its score threshold: " + c);

        String again = userError(cli("inspect", "--run-dir", runDir.toString(), "--step", "4"));
        assertTrue(again.contains("inspect-step4") && again.contains("--force"), again);
        assertEquals(0, cli("inspect", "--run-dir", runDir.toString(), "--force").code());
    }

    @Test
    void aTicketOfTheRunHasTheSameAnatomyWithoutScores() throws IOException {
        Result r = cli("inspect", "--ticket", ticket.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("not in a ticket"), r.out());
        Path dir = tmp.resolve("run.ticket.inspect");
        assertEquals(withoutScores(inMemoryCsv), withoutScores(Files.readString(dir.resolve(AnatomyReport.CSV))),
                "same densities and magnitude numbers from the ticket as from the run");
        assertTrue(Files.readAllLines(dir.resolve(AnatomyReport.CSV)).stream().skip(1)
                .allMatch(l -> l.split(",", -1)[8].isEmpty() && l.split(",", -1)[12].isEmpty()), "no score numbers");
        assertTrue(Files.readString(dir.resolve(AnatomyReport.MARKDOWN)).contains("Not in a ticket"));
    }
}
