package slt.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.tensorboard.SimulatedRuns.Point;
import slt.tensorboard.SimulatedRuns.Trained;

/**
 * TensorBoard itself reads what this package writes: src/test/python/tb_check.py loads a run's
 * tb/ directory with EventAccumulator, with the Python multiplexer the server uses under
 * {@code --load_fast=false}, and with the Rust data server it uses by default, and every one of
 * them must show exactly the expected scalars (as scalars) and texts, also after resumes.
 * Skipped, saying why, when /usr/bin/python3 cannot import tensorboard.
 */
class TensorBoardReadTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Path SCRIPT = Path.of("src/test/python/tb_check.py");
    private static final List<String> LOADERS = List.of("accumulator", "multiplexer", "data_server");

    @TempDir
    Path run;

    /** Why TensorBoard cannot be used here, or null when it can. */
    static String unavailable;

    @BeforeAll
    static void findTensorBoard() throws Exception {
        if (!Files.isExecutable(PYTHON)) {
            unavailable = PYTHON + " is missing: TensorBoard's own readers cannot run";
            return;
        }
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import tensorboard").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            unavailable = "tensorboard is not installed for " + PYTHON + " (" + out.lines().reduce((a, b) -> b).orElse("")
                    + "): install it with " + PYTHON + " -m pip install --user --break-system-packages tensorboard";
        }
    }

    @BeforeEach
    void needsTensorBoard() {
        Assumptions.assumeTrue(unavailable == null, unavailable);
    }

    @Test
    void tensorBoardShowsANewRunsScalarsAndText() throws Exception {
        Trained p = SimulatedRuns.train(run, 1, 0, 200, false);
        assertEveryLoaderShows(SimulatedRuns.expected(List.of(p)));
    }

    @Test
    void tensorBoardShowsResumedRunsWithoutTheSupersededPoints() throws Exception {
        List<Trained> processes = new ArrayList<>();
        processes.add(SimulatedRuns.train(run, 1, 0, 157, true));    // killed mid-write after step 157
        processes.add(SimulatedRuns.train(run, 2, 100, 230, true));  // resumed from step 100's checkpoint, killed again
        assertEveryLoaderShows(SimulatedRuns.expected(processes));
        processes.add(SimulatedRuns.train(run, 3, 200, 260, false)); // resumed from 200, stopped cleanly at 260
        processes.add(SimulatedRuns.train(run, 4, 260, 300, false)); // resumed from 260: nothing superseded
        assertEveryLoaderShows(SimulatedRuns.expected(processes));
    }

    private void assertEveryLoaderShows(Map<String, List<Point>> expected) throws Exception {
        JsonNode out = tensorBoardRead(run.resolve(TensorBoardLog.DIR));
        for (String loader : LOADERS) {
            JsonNode view = out.get(loader);
            assertTrue(view != null && !view.isNull(), loader + " failed: " + out.path(loader + "_error").asText());
            Map<String, List<Point>> shown = new TreeMap<>();
            view.get("scalars").fields().forEachRemaining(e -> e.getValue().forEach(p ->
                    shown.computeIfAbsent(e.getKey(), t -> new ArrayList<>())
                            .add(new Point(p.get(0).asLong(), floatOf(p.get(1).asDouble())))));
            view.get("text").fields().forEachRemaining(e -> e.getValue().forEach(p ->
                    shown.computeIfAbsent(e.getKey(), t -> new ArrayList<>()).add(new Point(p.get(0).asLong(), p.get(1).asText()))));
            shown.values().forEach(points -> points.sort(Comparator.comparingLong(Point::step)));
            if (loader.equals("accumulator")) {
                // The classic EventAccumulator (not what the TensorBoard app reads with) purges scalars at a
                // SessionLog START but never tensors: a text point shows once for each file that holds it.
                assertEquals(scalarsOf(expected), scalarsOf(shown), loader);
                shown.replaceAll((tag, points) -> points.stream().distinct().toList());
            }
            assertEquals(expected, shown, loader);
        }
    }

    private static Map<String, List<Point>> scalarsOf(Map<String, List<Point>> view) {
        Map<String, List<Point>> scalars = new TreeMap<>(view);
        scalars.values().removeIf(points -> points.get(0).value() instanceof String);
        return scalars;
    }

    /** A float32 read back as a double must be exactly a float32. */
    static float floatOf(double d) {
        assertTrue(Double.isNaN(d) || (double) (float) d == d, d + " is not a float32");
        return (float) d;
    }

    static JsonNode tensorBoardRead(Path dir) throws Exception {
        Path err = Files.createTempFile("tb_check", ".err");
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), SCRIPT.toString(), dir.toString())
                    .redirectError(err.toFile()).start();
            byte[] out = p.getInputStream().readAllBytes();
            assertTrue(p.waitFor(180, TimeUnit.SECONDS), "tb_check.py did not finish in 180 s");
            String stderr = Files.readString(err);
            assertEquals(0, p.exitValue(), "tb_check.py failed:\n" + stderr);
            return new ObjectMapper().readTree(out);
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
