package slt.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.tensorboard.SimulatedRuns.Point;
import slt.tensorboard.SimulatedRuns.Trained;

/** A run's log: new runs, resumes (what each TensorBoard loader then shows), damage, flushing, size. */
class TensorBoardLogTest {
    @TempDir
    Path run;

    private Path tb() {
        return run.resolve(TensorBoardLog.DIR);
    }

    @Test
    void aNewRunWritesOneFileThatStartsWithTheFileVersionAndAStartMarker() throws IOException {
        Trained p = SimulatedRuns.train(run, 1, 0, 120, false);
        List<Path> files = EventFileReader.eventFiles(tb());
        assertEquals(1, files.size());
        List<Event> events = EventFileReader.readAll(files.get(0));
        assertEquals(Event.Kind.FILE_VERSION, events.get(0).kind());
        assertEquals(start(events.get(1), 0), events.get(1));
        assertTrue(events.stream().skip(2).noneMatch(e -> e.kind() == Event.Kind.FILE_VERSION
                || e.kind() == Event.Kind.SESSION_START));
        assertEquals(SimulatedRuns.expected(List.of(p)), SimulatedRuns.pythonLoaderView(tb()));
        assertEquals(SimulatedRuns.expected(List.of(p)), SimulatedRuns.rustLoaderView(tb()));
        assertEquals(List.of(new Point(0, v(0, 1)), new Point(50, v(50, 1))), p.wrote().get("val/loss").subList(0, 2),
                "the simulation's own values");
    }

    @Test
    void resumesSupersedeThePointsAfterTheirCheckpointForBothLoaders() throws IOException {
        List<Trained> processes = new ArrayList<>();
        processes.add(SimulatedRuns.train(run, 1, 0, 157, true));    // killed at 157, mid-write
        processes.add(SimulatedRuns.train(run, 2, 100, 230, true));  // resumed from the checkpoint of 100, killed at 230
        assertViews(processes);
        processes.add(SimulatedRuns.train(run, 3, 200, 300, false)); // resumed from 200, to the end
        assertViews(processes);
        processes.add(SimulatedRuns.train(run, 4, 300, 300, false)); // a resume that has nothing left to do
        assertViews(processes);

        Map<String, List<Point>> view = SimulatedRuns.expected(processes);
        assertEquals(List.of(new Point(0, v(0, 1)), new Point(50, v(50, 1)), new Point(100, v(100, 1)),
                        new Point(150, v(150, 2)), new Point(200, v(200, 2)), new Point(250, v(250, 3)),
                        new Point(300, v(300, 3))),
                view.get("val/loss"), "each step once, from the process that computed it last");
        assertEquals(4, view.get("config").size(), "the config of each process: steps 0, 101, 201, 301");

        List<Path> files = EventFileReader.eventFiles(tb());
        assertEquals(4, files.size());
        for (int i = 1; i < files.size(); i++) {
            assertTrue(files.get(i).getFileName().toString().compareTo(files.get(i - 1).getFileName().toString()) > 0);
            List<Event> events = EventFileReader.readAll(files.get(i));
            if (i < 3) { // processes 2 and 3 supersede points: START at 0, then copies
                assertEquals(start(events.get(1), 0), events.get(1));
            } else { // process 4 follows a clean end: START after the checkpoint, no copies
                assertEquals(start(events.get(1), 301), events.get(1));
                assertEquals(Event.text("config", 301, "process: 4\nresumed_from: 300", events.get(2).wallTime()),
                        events.get(2));
            }
        }
    }

    /** A START marker at {@code step} with the wall time of {@code actual}. */
    private static Event start(Event actual, long step) {
        return new Event(Event.Kind.SESSION_START, actual.wallTime(), step, null, 0, null);
    }

    /** val/loss at {@code step} as process {@code process} of {@link SimulatedRuns} writes it. */
    private static float v(long step, int process) {
        return (float) (10 - step / 100.0 + process / 1000.0);
    }

    @Test
    void aResumeAfterACleanStopCopiesNothing() throws IOException {
        Trained p = SimulatedRuns.train(run, 1, 0, 100, false); // stopped by a signal right after the checkpoint of 100
        Trained q = SimulatedRuns.train(run, 2, 100, 200, false);
        List<Path> files = EventFileReader.eventFiles(tb());
        assertEquals(2, files.size());
        List<Event> second = EventFileReader.readAll(files.get(1));
        assertEquals(start(second.get(1), 101), second.get(1), "START after the checkpoint: it drops nothing");
        assertTrue(second.stream().skip(1).allMatch(e -> e.step() > 100), "only new points");
        assertViews(List.of(p, q));
    }

    private void assertViews(List<Trained> processes) throws IOException {
        Map<String, List<Point>> expected = SimulatedRuns.expected(processes);
        assertEquals(expected, SimulatedRuns.pythonLoaderView(tb()), "SessionLog START rule");
        assertEquals(expected, SimulatedRuns.rustLoaderView(tb()), "per-tag step rule");
        Map<String, List<Point>> shown = new TreeMap<>();
        for (Event e : TensorBoardLog.shown(EventFileReader.eventFiles(tb()), new ArrayList<>())) {
            shown.computeIfAbsent(e.tag(), t -> new ArrayList<>())
                    .add(new Point(e.step(), e.kind() == Event.Kind.TEXT ? e.text() : (Object) e.value()));
        }
        assertEquals(expected, shown, "what a resume copies");
    }

    @Test
    void aResumeKeepsTheOriginalWallTimesOfTheCopiedPoints() throws IOException {
        SimulatedRuns.train(run, 1, 0, 60, false);
        List<Event> first = EventFileReader.readAll(EventFileReader.eventFiles(tb()).get(0));
        try (TensorBoardLog log = TensorBoardLog.open(run, 50)) {
            List<Event> copied = EventFileReader.readAll(log.file());
            List<Event> kept = first.stream().filter(e -> e.kind() == Event.Kind.SCALAR || e.kind() == Event.Kind.TEXT)
                    .filter(e -> e.step() <= 50).toList();
            assertEquals(kept, copied.subList(2, copied.size()), "file version, START, then the copies, unchanged");
        }
    }

    @Test
    void anUnfinishedFileOfAKilledOpenIsIgnoredAndRemoved() throws IOException {
        Trained p = SimulatedRuns.train(run, 1, 0, 100, false);
        Path unfinished = tb().resolve(EventFileWriter.TEMP_PREFIX + "1700000000.host.1");
        Files.writeString(unfinished, "half a preamble");
        assertEquals(1, EventFileReader.eventFiles(tb()).size(), "TensorBoard does not read it either: no 'tfevents'");
        Trained q = SimulatedRuns.train(run, 2, 100, 150, false);
        assertFalse(Files.exists(unfinished));
        assertEquals(SimulatedRuns.expected(List.of(p, q)), SimulatedRuns.pythonLoaderView(tb()));
    }

    @Test
    void aDamagedEarlierFileIsNotedAndThePointsBeforeTheDamageAreKept() throws IOException {
        SimulatedRuns.train(run, 1, 0, 100, false);
        Path first = EventFileReader.eventFiles(tb()).get(0);
        byte[] b = Files.readAllBytes(first);
        b[b.length - 30] ^= 1; // inside the last record: the points of step 100
        Files.write(first, b);
        try (TensorBoardLog log = TensorBoardLog.open(run, 90)) { // step 100's train point is superseded: a copy
            assertEquals(1, log.notes().size());
            assertTrue(log.notes().get(0).startsWith(first + ": damaged event record at byte "), log.notes().get(0));
            List<Event> copied = EventFileReader.readAll(log.file());
            assertTrue(copied.stream().anyMatch(e -> e.step() == 90 && "train/loss".equals(e.tag())));
            assertTrue(copied.stream().noneMatch(e -> e.step() > 90));
        }
    }

    @Test
    void flushMakesEverythingReadableAndTheBackgroundFlushDoesItOnItsOwn() throws Exception {
        try (TensorBoardLog log = TensorBoardLog.open(run, 0)) {
            log.scalars(10, Map.of("train/loss", 3.0));
            assertEquals(2, EventFileReader.readAll(log.file()).size(), "buffered: only file version and START");
            log.flush();
            assertEquals(3, EventFileReader.readAll(log.file()).size());
        }
        try (EventFileWriter w = EventFileWriter.open(run.resolve("fast"), List.of(), 100)) {
            w.scalar("a", 1, 1.0, 1.0);
            long deadline = System.currentTimeMillis() + 5000;
            while (EventFileReader.readAll(w.file()).size() < 2 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(2, EventFileReader.readAll(w.file()).size(), "flushed by the background thread");
        }
    }

    /** A typical run: 3 train scalars every 10 steps, 4 validation and mask scalars every 100. */
    @Test
    void aThousandStepsTakeAboutTenKilobytes() throws IOException {
        Path file;
        try (TensorBoardLog log = TensorBoardLog.open(run, 0)) {
            file = log.file();
            for (long s = 1; s <= 1000; s++) {
                if (s % 10 == 0) {
                    Map<String, Double> train = new LinkedHashMap<>();
                    train.put("train/loss", 7.9 - s * 1e-4);
                    train.put("train/lr", 1e-4 * (1 + Math.cos(s / 1000.0)));
                    train.put("train/tokens_per_s", 1234.5 + s);
                    log.scalars(s, train);
                }
                if (s % 100 == 0) {
                    Map<String, Double> val = new LinkedHashMap<>();
                    val.put("val/loss", 7.8 - s * 1e-4);
                    val.put("val/ppl", Math.exp(7.8 - s * 1e-4));
                    val.put("mask/kept_score_mean", 0.01 + s * 1e-6);
                    val.put("mask/changed_fraction", 0.002);
                    log.scalars(s, val);
                    log.flush();
                }
            }
        }
        long bytes = Files.size(file);
        assertTrue(bytes > 5_000 && bytes < 15_000, bytes + " bytes"); // 10,576 measured (TB_NOTES.md)
    }
}
