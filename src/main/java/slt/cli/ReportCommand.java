package slt.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import slt.report.Report;

/** {@code slt report}: tables, plots and an HTML page from finished (and unfinished) runs; reads runs only. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Aggregate runs over seeds into results.csv, runs.csv, results.md, PNG plots (the paper's "
                + "Fig. 7 and Fig. 8, training curves) and index.html.",
            "Inputs: a sweep file (.yaml; its runs are found under <run.dir>/<sweep name>), or run directories, "
                + "or directories holding runs at any depth."})
public final class ReportCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE|DIR", description = "sweep file, or directories holding runs")
    List<Path> inputs;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "directory to write the report into")
    Path out;

    @Option(names = "--force", description = "write into a non-empty --out: replaces the report's files there "
            + "(results.*, runs.csv, index.html, fig*.png, curves/*.png); other files are left alone")
    boolean force;

    @Override
    public Integer call() {
        Report.Summary s = Report.write(inputs, out, force);
        PrintWriter o = spec.commandLine().getOut();
        o.printf("report of %d runs (%d unfinished) in %d points -> %s (%d plots)%n", s.runs(), s.unfinished(),
                s.points(), s.out().resolve(Report.INDEX_HTML), s.figures());
        s.notes().forEach(n -> o.println("note: " + n));
        s.skipped().forEach(n -> o.println("skipped: " + n));
        o.flush();
        return 0;
    }
}
