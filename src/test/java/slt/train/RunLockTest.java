package slt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.UserError;
import slt.config.ConfigLoader;

/** One process trains a run directory at a time: a second resume, or --force, is refused while it does. */
class RunLockTest {

    @TempDir
    Path tmp;

    private static long siblings(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir.getParent())) {
            return s.filter(p -> p.getFileName().toString().startsWith(dir.getFileName() + ".replaced-")).count();
        }
    }

    @Test
    void aLockedRunIsNeitherReplacedNorLockedTwice() throws Exception {
        Path dir = tmp.resolve("run");
        RunDirectory live = RunDirectory.create(dir, false);
        live.writeConfig(ConfigLoader.defaults());
        Files.writeString(dir.resolve(RunDirectory.METRICS), "{\"step\":0}\n");

        UserError force = assertThrows(UserError.class, () -> RunDirectory.create(dir, true));
        assertTrue(force.getMessage().contains("is in use by another slt process (pid " + ProcessHandle.current().pid() + ")"),
                force.getMessage());
        assertEquals(0, siblings(dir), "nothing moved aside");
        assertEquals("{\"step\":0}\n", Files.readString(dir.resolve(RunDirectory.METRICS)), "nothing lost");

        RunDirectory second = RunDirectory.open(dir);
        UserError twice = assertThrows(UserError.class, second::lockForTraining);
        assertTrue(twice.getMessage().contains("wait for it to finish or stop it"), twice.getMessage());

        live.unlock();
        second.lockForTraining(); // free again
        second.unlock();
        RunDirectory replaced = RunDirectory.create(dir, true);
        replaced.unlock();
        assertEquals(1, siblings(dir), "--force moved the idle run aside");
    }

    @Test
    void anotherProcessCannotResumeWhileThisOneTrains() throws Exception {
        Path dir = tmp.resolve("run");
        RunDirectory live = RunDirectory.create(dir, false);
        live.writeConfig(ConfigLoader.load(null, List.of("model.preset=tiny", "data.seq_len=32")));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path err = tmp.resolve("stderr.txt");
        Process p = new ProcessBuilder(java, "-cp", cp, "slt.cli.Main", "resume", dir.toString())
                .redirectError(err.toFile()).redirectOutput(tmp.resolve("stdout.txt").toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the second process finished");
        String e = Files.readString(err).strip();
        assertEquals(2, p.exitValue(), e);
        assertTrue(e.startsWith("error: run directory " + dir + " is in use by another slt process (pid "
                + ProcessHandle.current().pid() + ")"), e);
        live.unlock();
    }
}
