package slt.tensorboard;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Training processes that write a run's TensorBoard log the way the trainer does (train scalars
 * every 10 steps, validation and mask scalars every 50 with a flush, the config as text), what
 * each wrote, and the view a reader should end with. Values carry the process number, so a
 * superseded point is never mistaken for its replacement.
 */
final class SimulatedRuns {
    /** A point of one tag: a float32 scalar or a string. */
    record Point(long step, Object value) {}

    /** One process: the step it resumed from (0: a new run) and what it wrote. */
    record Trained(long resumeStep, Map<String, List<Point>> wrote) {}

    private SimulatedRuns() {}

    /**
     * Trains steps {@code resumeStep+1 .. lastStep} of the run in {@code runDir} (and step 0's
     * validation when new) as process number {@code process}. {@code killed}: its file loses its
     * last 3 bytes afterwards, as when a process is killed mid-write (its last record is lost; the
     * last logged step must come after {@code resumeStep}).
     */
    static Trained train(Path runDir, int process, long resumeStep, long lastStep, boolean killed) throws IOException {
        Map<String, List<Point>> wrote = new TreeMap<>();
        Path file;
        try (TensorBoardLog log = TensorBoardLog.open(runDir, resumeStep)) {
            file = log.file();
            long configStep = resumeStep == 0 ? 0 : resumeStep + 1;
            log.text("config", configStep, "process: " + process + "\nresumed_from: " + resumeStep);
            add(wrote, "config", new Point(configStep, "process: " + process + "\nresumed_from: " + resumeStep));
            if (resumeStep == 0) {
                write(log, wrote, 0, values(0, process, "val/loss", "val/ppl"));
            }
            for (long s = resumeStep + 1; s <= lastStep; s++) {
                if (s % 10 == 0) {
                    write(log, wrote, s, values(s, process, "train/loss", "train/lr", "train/tokens_per_s"));
                }
                if (s % 50 == 0) {
                    write(log, wrote, s, values(s, process, "val/loss", "val/ppl", "mask/kept_score_mean",
                            "mask/changed_fraction"));
                    log.flush();
                }
            }
        }
        if (killed) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() - 3);
            }
            // the record lost: the scalars of the last logged step (validation and mask ones on an evaluation step)
            long s = lastStep - lastStep % 10;
            List<String> lost = s % 50 == 0 ? List.of("val/loss", "val/ppl", "mask/kept_score_mean", "mask/changed_fraction")
                    : List.of("train/loss", "train/lr", "train/tokens_per_s");
            lost.forEach(tag -> wrote.get(tag).remove(wrote.get(tag).size() - 1));
        }
        return new Trained(resumeStep, wrote);
    }

    private static Map<String, Double> values(long step, int process, String... tags) {
        Map<String, Double> v = new LinkedHashMap<>();
        for (int i = 0; i < tags.length; i++) {
            v.put(tags[i], 10 - step / 100.0 + i + process / 1000.0);
        }
        return v;
    }

    private static void write(TensorBoardLog log, Map<String, List<Point>> wrote, long step, Map<String, Double> values)
            throws IOException {
        log.scalars(step, values);
        values.forEach((tag, v) -> add(wrote, tag, new Point(step, (float) (double) v)));
    }

    private static void add(Map<String, List<Point>> points, String tag, Point p) {
        points.computeIfAbsent(tag, t -> new ArrayList<>()).add(p);
    }

    /**
     * What TensorBoard should show after {@code processes} ran in order: each process keeps the
     * points before it up to its resume step and adds its own.
     */
    static Map<String, List<Point>> expected(List<Trained> processes) {
        Map<String, List<Point>> view = new TreeMap<>();
        for (Trained p : processes) {
            view.values().forEach(points -> points.removeIf(q -> q.step() > p.resumeStep()));
            p.wrote().forEach((tag, points) -> points.forEach(q -> add(view, tag, q)));
        }
        view.values().removeIf(List::isEmpty);
        return view;
    }

    /**
     * The rule of the TensorBoard app's Python loader (plugin_event_accumulator, file version 2):
     * a run's first SessionLog START is ignored, every later START at p drops every point with step >= p.
     */
    static Map<String, List<Point>> pythonLoaderView(Path dir) throws IOException {
        Map<String, List<Point>> view = new TreeMap<>();
        boolean seenStart = false;
        for (Event e : allEvents(dir)) {
            if (e.kind() == Event.Kind.SESSION_START) {
                if (seenStart) {
                    view.values().forEach(points -> points.removeIf(q -> q.step() >= e.step()));
                }
                seenStart = true;
            } else if (e.kind() != Event.Kind.FILE_VERSION) {
                add(view, e.tag(), point(e));
            }
        }
        view.values().removeIf(List::isEmpty);
        return view;
    }

    /** TensorBoard's Rust loader's rule: a point drops the earlier points of its tag with step >= its own. */
    static Map<String, List<Point>> rustLoaderView(Path dir) throws IOException {
        Map<String, List<Point>> view = new TreeMap<>();
        for (Event e : allEvents(dir)) {
            if (e.kind() == Event.Kind.SCALAR || e.kind() == Event.Kind.TEXT) {
                List<Point> points = view.computeIfAbsent(e.tag(), t -> new ArrayList<>());
                points.removeIf(q -> q.step() >= e.step());
                points.add(point(e));
            }
        }
        return view;
    }

    private static Point point(Event e) {
        return new Point(e.step(), e.kind() == Event.Kind.TEXT ? e.text() : (Object) e.value());
    }

    /** Every entry of the directory's event files in reading order, each file up to where it was cut short. */
    private static List<Event> allEvents(Path dir) throws IOException {
        List<Event> all = new ArrayList<>();
        for (Path f : EventFileReader.eventFiles(dir)) {
            all.addAll(EventFileReader.readAll(f));
        }
        return all;
    }
}
