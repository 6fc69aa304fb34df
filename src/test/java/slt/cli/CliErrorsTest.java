package slt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's contract for user errors: exit code 2 and exactly one line {@code error: ...} on
 * stderr that names the problem and the fix, no stack trace. No test here starts training.
 */
class CliErrorsTest {

    /** The read-only WikiText-103 validation file shared by all sessions (relative to the repo root). */
    private static final Path SHARED_DATA = Path.of("../shared/data/wikitext-103");

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code;
        try (PrintWriter o = new PrintWriter(out, true); PrintWriter e = new PrintWriter(err, true)) {
            code = Main.run(o, e, args);
        }
        return new Result(code, out.toString(), err.toString());
    }

    /** Exit 2, one line "error: ..." on stderr mentioning every needle, nothing on stdout. */
    private static String assertUserError(Result r, String... needles) {
        assertEquals(2, r.code(), "exit code; stderr was:\n" + r.err());
        List<String> lines = r.errLines();
        assertEquals(1, lines.size(), "exactly one line on stderr, got:\n" + r.err());
        String line = lines.get(0);
        assertTrue(line.startsWith("error: "), "starts with 'error: ': " + line);
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), "no stack trace: " + r.err());
        assertEquals("", r.out(), "nothing on stdout");
        for (String n : needles) {
            assertTrue(line.contains(n), "error should mention '" + n + "': " + line);
        }
        return line;
    }

    private Path file(String name, String text) throws IOException {
        Path f = tmp.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
        return f;
    }

    private static List<String> listing(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !p.equals(dir)).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    // ---- usage errors (picocli) -----------------------------------------------------------

    @Test
    void trainWithoutConfigIsAUsageErrorNamingConfig() {
        Result r = run("train");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--config"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void trainWithoutConfigIsOneErrorLine() {
        assertUserError(run("train"), "--config");
    }

    @Test
    void unknownOptionIsOneErrorLine() {
        assertUserError(run("train", "--config", "x.yaml", "--sett", "train.lr=1"), "--sett");
    }

    // ---- train ------------------------------------------------------------------------

    @Test
    void trainWithMissingConfigFile() {
        Path missing = tmp.resolve("missing.yaml");
        assertUserError(run("train", "--config", missing.toString()), missing.toString(), "not found", "configs/quickstart.yaml");
    }

    @Test
    void trainWithUnknownKeyViaSet() throws IOException {
        Path cfg = file("run.yaml", "model:\n  preset: tiny\n");
        assertUserError(run("train", "--config", cfg.toString(), "--set", "train.lrr=1e-3"),
                "'train.lrr'", "override train.lrr=1e-3", "known keys", "min_lr");
    }

    @Test
    void trainWithBadValueViaSet() throws IOException {
        Path cfg = file("run.yaml", "model:\n  preset: tiny\n");
        assertUserError(run("train", "--config", cfg.toString(), "--set", "train.lr=fast"),
                "'train.lr'", "fast", "number");
    }

    @Test
    void trainWithMalformedSet() throws IOException {
        Path cfg = file("run.yaml", "model:\n  preset: tiny\n");
        assertUserError(run("train", "--config", cfg.toString(), "--set", "train.lr"),
                "train.lr", "section.key=value");
    }

    @Test
    void trainWithInvalidConfigValue() throws IOException {
        Path cfg = file("run.yaml", "model:\n  preset: tiny\n");
        // tiny has 128 positions; the default seq_len is 1024
        assertUserError(run("train", "--config", cfg.toString()), "data.seq_len", "model.context");
    }

    @Test
    void trainWithoutDataNamesTheFileAndTheDownloadCommand() throws IOException {
        Path data = Files.createDirectories(tmp.resolve("empty-data"));
        Path runs = tmp.resolve("runs");
        Path cfg = file("run.yaml", "model:\n  preset: tiny\n");
        Result r = run("train", "--config", cfg.toString(),
                "--set", "data.seq_len=16",
                "--set", "data.path=" + data,
                "--set", "data.cache_dir=" + tmp.resolve("cache"),
                "--set", "run.dir=" + runs);
        assertUserError(r, data.resolve("wiki.train.raw").toString(), "./slt data download", "data.path");
        assertFalse(Files.exists(runs), "no run directory for a run that never started: " + listing(runs));
        assertEquals(List.of(), listing(data), "nothing written into the data directory");
    }

    @Test
    void trainWithoutValidFileNamesIt() throws IOException {
        Path data = Files.createDirectories(tmp.resolve("wikitext-2"));
        Files.writeString(data.resolve("wiki.train.raw"), " = A = \n\n" + "word ".repeat(500) + "\n");
        Path runs = tmp.resolve("runs");
        Result r = run("train", "--config", file("run.yaml", "model:\n  preset: tiny\n").toString(),
                "--set", "data.seq_len=16",
                "--set", "data.path=" + data,
                "--set", "data.cache_dir=" + tmp.resolve("cache"),
                "--set", "run.dir=" + runs);
        assertUserError(r, data.resolve("wiki.valid.raw").toString(), "./slt data download wikitext-2");
        assertFalse(Files.exists(runs), "no run directory: " + listing(runs));
    }

    @Test
    void gpuRequestedWhereLibtorchSeesNoneIsRefused() throws IOException {
        Assumptions.assumeTrue(Engine.getInstance().getGpuCount() == 0, "only meaningful without a GPU");
        Path runs = tmp.resolve("runs");
        Result r = run("train", "--config", file("run.yaml", "model:\n  preset: tiny\n").toString(),
                "--set", "data.seq_len=16", "--set", "data.path=../shared/data/wikitext-103",
                "--set", "data.train_split=valid", "--set", "data.holdout=0.1",
                "--set", "data.cache_dir=" + tmp.resolve("cache"), "--set", "run.dir=" + runs,
                "--set", "run.device=gpu");
        assertUserError(r, "run.device", "gpu", "run.device=cpu");
        assertFalse(Files.exists(runs), "no run directory: " + listing(runs));
        assertUserError(run("info", "--device", "gpu"), "no GPU");
    }

    @Test
    void evalOfAMissingTestSplitNamesTheFile() throws IOException {
        Path data = Files.createDirectories(tmp.resolve("wikitext-103"));
        Files.writeString(data.resolve("wiki.valid.raw"), " = A = \n\n" + "word ".repeat(500) + "\n");
        Path runDir = Files.createDirectories(tmp.resolve("runs/r"));
        Files.writeString(runDir.resolve("config.yaml"), slt.config.ConfigLoader.toYaml(slt.config.ConfigLoader.load(null, List.of("model.preset=tiny",
                "data.seq_len=16", "data.path=" + data)).resolved()));
        // a run directory needs a checkpoint before its data is read: give it an empty, valid one
        var state = new slt.checkpoint.RunState(1, 0, 0, Double.POSITIVE_INFINITY, -1, Double.NaN, -1, 0, 0, 0,
                slt.checkpoint.RunState.LossScale.START);
        new slt.checkpoint.Checkpoints(runDir).save(java.util.Map.of(), java.util.Map.of(), state, java.util.Map.of(), false, 2);
        assertUserError(run("eval", "--run-dir", runDir.toString(), "--split", "test"),
                data.resolve("wiki.test.raw").toString(), "./slt data download");
    }

    @Test
    void trainIntoAnExistingRunIsRefusedWithoutForce() throws IOException {
        assumeTrue(Files.isRegularFile(SHARED_DATA.resolve("wiki.valid.raw")), "needs " + SHARED_DATA);
        Path runs = tmp.resolve("runs");
        Path existing = file("runs/old/config.yaml", "# the previous run's config\n");
        Path cfg = file("run.yaml", "run:\n  name: old\n  device: cpu\n");
        Result r = run("train", "--config", cfg.toString(),
                "--set", "run.dir=" + runs,
                "--set", "model.preset=tiny",
                "--set", "data.seq_len=16",
                "--set", "data.path=" + SHARED_DATA,
                "--set", "data.train_split=valid",
                "--set", "data.holdout=0.1",
                "--set", "data.cache_dir=" + tmp.resolve("cache"),
                "--set", "train.batch_size=8");
        assertUserError(r, runs.resolve("old").toString(), "already holds a run", "--force", "run.name");
        assertEquals("# the previous run's config\n", Files.readString(existing), "the old run is untouched");
        assertEquals(List.of("old", "old/config.yaml"), listing(runs), "nothing moved aside or added");
    }

    // ---- eval -------------------------------------------------------------------------

    @Test
    void evalOnADirectoryThatIsNoRun() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("not-a-run"));
        assertUserError(run("eval", "--run-dir", dir.toString()), dir.toString(), "config.yaml", "run directory");
    }

    @Test
    void evalOfATicketThatIsADirectoryNamesIt() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("not-a-ticket"));
        assertUserError(run("eval", "--ticket", dir.toString()), dir.toString(), "is a directory");
    }

    @Test
    void evalOnAMissingDirectory() {
        Path dir = tmp.resolve("nowhere");
        assertUserError(run("eval", "--run-dir", dir.toString()), dir.toString(), "config.yaml");
        assertFalse(Files.exists(dir), "eval creates nothing");
    }

    @Test
    void evalWithUnknownSplit() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("run"));
        file("run/config.yaml", "model:\n  preset: tiny\ndata:\n  seq_len: 16\n");
        assertUserError(run("eval", "--run-dir", dir.toString(), "--split", "foo"), "--split", "'foo'", "valid", "test");
    }

    @Test
    void evalOnARunWithoutCheckpoints() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("run"));
        file("run/config.yaml", "model:\n  preset: tiny\ndata:\n  seq_len: 16\n  path: ../shared/data/wikitext-103\n"
                + "  train_split: valid\n  holdout: 0.1\n  cache_dir: " + tmp.resolve("cache") + "\n");
        assertUserError(run("eval", "--run-dir", dir.toString()), dir.toString(), "checkpoint");
    }

    @Test
    void evalOnARunWithABrokenConfig() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("run"));
        Path cfg = file("run/config.yaml", "train:\n  lrr: 1\n");
        assertUserError(run("eval", "--run-dir", dir.toString()), "'train.lrr'", cfg.toString());
    }

    // ---- data -------------------------------------------------------------------------

    @Test
    void downloadOfAnUnknownDataset() {
        assertUserError(run("data", "download", "nosuchset", "--dir", tmp.toString()),
                "'nosuchset'", "wikitext-103", "wikitext-2");
    }

    @Test
    void downloadOfAnUnknownVariant() {
        assertUserError(run("data", "download", "wikitext-2", "--variant", "bytes", "--dir", tmp.toString()),
                "'bytes'", "raw", "tokens");
    }

    @Test
    void downloadFromAMirrorNeedsSha256() throws IOException {
        assertUserError(run("data", "download", "wikitext-2", "--url", "http://x", "--dir", tmp.toString()),
                "--url", "--sha256");
        assertEquals(List.of(), listing(tmp), "nothing downloaded or created");
    }

    @Test
    void downloadFromAMirrorNeedsAWellFormedSha256() throws IOException {
        assertUserError(run("data", "download", "wikitext-2", "--url", "http://x", "--sha256", "abc",
                "--dir", tmp.toString()), "--sha256", "64");
        assertEquals(List.of(), listing(tmp));
    }

    @Test
    void dataWithoutSubcommandNamesDownload() {
        Result r = run("data");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("download"), r.err());
    }

    // ---- config -----------------------------------------------------------------------

    @Test
    void configWithABadKeyInTheFile() throws IOException {
        Path cfg = file("bad.yaml", "slt:\n  densty: 0.5\n");
        assertUserError(run("config", "--config", cfg.toString()), "'slt.densty'", cfg.toString(), "density");
    }

    @Test
    void configWithABadEnum() {
        assertUserError(run("config", "--set", "slt.scope=layer"), "'slt.scope'", "layer", "tensor", "global");
    }

    @Test
    void configPrintsTheResolvedYaml() {
        Result r = run("config", "--set", "model.preset=tiny", "--set", "data.seq_len=128", "--set", "slt.qk_scale=auto");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().contains("preset: tiny"), r.out());
        assertTrue(r.out().contains("seq_len: 128"), r.out());
        assertTrue(r.out().contains("2.8284271247461903"), "qk_scale resolved to a number: " + r.out());
        assertTrue(r.out().contains("name: tiny-slt-qk2.83-k0.3-s1"), "run.name filled in: " + r.out());
        assertTrue(r.out().contains("steps_per_epoch: 227"), "every key, defaults filled in: " + r.out());
    }

    @Test
    void configWithTinyPresetAloneSaysWhatToSet() {
        assertUserError(run("config", "--set", "model.preset=tiny"), "data.seq_len", "1024", "128", "model.context");
    }

    @Test
    void configOutputLoadsBackAsTheSameConfig() throws IOException {
        Result r = run("config", "--config", "configs/quickstart.yaml", "--set", "train.seed=4");
        assertEquals(0, r.code(), r.err());
        Path printed = file("printed.yaml", r.out());
        Result again = run("config", "--config", printed.toString());
        assertEquals(0, again.code(), again.err());
        assertEquals(r.out(), again.out());
    }

    // ---- the real process ----------------------------------------------------------------

    private record ProcessResult(int code, String out, String err) {}

    /** Runs {@code slt.cli.Main} in a new JVM, as the launcher does, with stdout and stderr to files. */
    private ProcessResult process(String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", cp, "slt.cli.Main"));
        cmd.addAll(List.of(args));
        Path stdout = Files.createTempFile(tmp, "stdout", ".txt");
        Path stderr = Files.createTempFile(tmp, "stderr", ".txt");
        Process p = new ProcessBuilder(cmd)
                .directory(Path.of("").toAbsolutePath().toFile())
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .start();
        p.getOutputStream().close();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the CLI process did not finish within 60 s");
        }
        return new ProcessResult(p.exitValue(), Files.readString(stdout), Files.readString(stderr));
    }

    @Test
    void realProcessExitsWithTwoAndOneErrorLine() throws Exception {
        Path missing = tmp.resolve("missing.yaml");
        ProcessResult r = process("train", "--config", missing.toString());
        assertEquals(2, r.code(), "exit code; stderr:\n" + r.err());
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), "one line on stderr:\n" + r.err());
        assertTrue(lines.get(0).startsWith("error:"), lines.get(0));
        assertTrue(lines.get(0).contains(missing.toString()), lines.get(0));
        assertEquals("", r.out().strip(), "nothing on stdout");
    }

    @Test
    void warningsGoToStderrNotStdout() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("wikitext-103"));
        Files.writeString(data.resolve("wiki.valid.raw"), " = A = \n\n" + "word ".repeat(500) + "\n");
        Path runDir = Files.createDirectories(tmp.resolve("runs/w"));
        Files.writeString(runDir.resolve("config.yaml"), slt.config.ConfigLoader.toYaml(slt.config.ConfigLoader.load(null, List.of("model.preset=tiny",
                "data.seq_len=16", "data.path=" + data)).resolved()));
        var state = new slt.checkpoint.RunState(1, 0, 0, Double.POSITIVE_INFINITY, -1, Double.NaN, -1, 0, 0, 0,
                slt.checkpoint.RunState.LossScale.START);
        new slt.checkpoint.Checkpoints(runDir).save(java.util.Map.of(), java.util.Map.of(), state, java.util.Map.of(), false, 2);
        Files.writeString(runDir.resolve("checkpoints/latest"), "step-00000099\n"); // warned about, then ignored
        ProcessResult r = process("eval", "--run-dir", runDir.toString()); // loads the (empty) model: fails after the warning
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("WARN") && r.err().contains("step-00000099"), "the warning on stderr:\n" + r.err());
        assertFalse(r.out().contains("WARN"), "no warning on stdout:\n" + r.out());
    }

    @Test
    void realProcessPrintsTheConfigBeforeExiting() throws Exception {
        // print() without a newline is not auto-flushed: the output must still reach stdout before System.exit
        ProcessResult r = process("config", "--set", "model.preset=tiny", "--set", "data.seq_len=128");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("preset: tiny") && r.out().contains("seq_len: 128"), "stdout was: '" + r.out() + "'");
    }

    @Test
    void evalMaySetOnlyKeysThatLeaveTheModelAlone() {
        assertUserError(run("eval", "--run-dir", tmp.toString(), "--set", "model.preset=mini"), "model.preset",
                "would change the model", "data.seq_len", "run.device");
        assertUserError(run("eval", "--run-dir", tmp.toString(), "--set", "train.epochs=3"), "train.epochs", "means nothing here");
    }

    @Test
    void generateNamesTheOneBadOption() {
        assertUserError(run("generate", "--run-dir", tmp.toString(), "--tokens", "0"), "--tokens 0", "give 1 to");
        assertUserError(run("generate", "--run-dir", tmp.toString(), "--temperature", "-1"), "--temperature -1.0", "greedy");
        assertUserError(run("generate", "--run-dir", tmp.toString(), "--top-k", "-2"), "--top-k -2", "all tokens");
    }

    @Test
    void infoWithAnImpossibleMatrixSize() {
        assertUserError(run("info", "--size", "0"), "--size 0", "1 to 32768");
        assertUserError(run("info", "--size", "-5"), "--size -5");
    }

    @Test
    void aMistypedCommandListsTheCommands() {
        Result r = run("trian", "--config", "x.yaml");
        assertUserError(r, "unknown command 'trian'", "train", "resume", "bench");
    }
}
