package slt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slt theory} through {@link Main}: bad input is exit code 2 with one line on stderr; a tiny run writes its files. */
class TheoryCommandTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] full = new String[args.length + 1];
        full[0] = "theory";
        System.arraycopy(args, 0, full, 1, args.length);
        int code;
        try (PrintWriter o = new PrintWriter(out, true); PrintWriter e = new PrintWriter(err, true)) {
            code = Main.run(o, e, full);
        }
        return new Result(code, out.toString(), err.toString());
    }

    private static void assertUserError(Result r, String... needles) {
        assertEquals(2, r.code(), "exit code; stderr:\n" + r.err());
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), "one line on stderr:\n" + r.err());
        assertTrue(lines.get(0).startsWith("error: "), lines.get(0));
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
        for (String n : needles) {
            assertTrue(lines.get(0).contains(n), "mentions '" + n + "': " + lines.get(0));
        }
    }

    @Test
    void badInputsAreOneLineErrors() throws IOException {
        assertUserError(run("mha", "--hidden", "10:5:1"), "--hidden 10:5:1", "START <= END");
        assertUserError(run("mha", "--solver", "gurobi"), "--solver", "unknown solver 'gurobi'", "near-exact");
        assertUserError(run("mha", "--init", "kaiming"), "--init", "unknown initialisation 'kaiming'", "xavier");
        assertUserError(run("mha", "--exact-max", "50"), "--exact-max 50");
        assertUserError(run("mha", "--sources", "0"), "--sources 0");
        assertUserError(run("mha", "--length", "0"), "--length 0");
        assertUserError(run("mha", "--lr", "-1"), "--lr");
        assertUserError(run("length", "--length", "0:64:x2"), "geometric");
        assertUserError(run("transformer", "--hidden", "0:100:50"), "below the smallest allowed value 1");
        assertUserError(run("transformer", "--blocks", "1:100"), "at most 64 blocks");
        assertUserError(run("mha", "--bogus"), "--bogus");
        assertUserError(run("mha", "--solver", "exact", "--hidden", "0:100:10"), "--solver exact", "hidden size 100 gives 50");
        assertUserError(run(), "mha, length or transformer");
        Path full = tmp.resolve("full");
        Files.createDirectories(full);
        Files.writeString(full.resolve("x"), "x");
        assertUserError(run("mha", "--out", full.toString()), "--force");
    }

    @Test
    void tinyRunWritesItsFiles() throws IOException {
        Path out = tmp.resolve("mha");
        Result r = run("mha", "--hidden", "0,8", "--sources", "2", "--samples", "300", "--epochs", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        for (String f : new String[] {"results.csv", "groups.csv", "fit.csv", "summary.md", "fig4-error-vs-hidden.png"}) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        assertEquals(1 + 4, Files.readAllLines(out.resolve("results.csv")).size());
        assertTrue(r.out().contains("wrote " + out), r.out());
        assertTrue(Files.readString(out.resolve("summary.md")).contains("slt theory mha --hidden 0,8"));
    }
}
