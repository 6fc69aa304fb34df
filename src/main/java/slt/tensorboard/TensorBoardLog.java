package slt.tensorboard;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The TensorBoard log of one run: event files in {@code <run dir>/tb/}, so that
 * {@code tensorboard --logdir checkpoints/} shows every run. Each process that trains the run
 * writes its own new file, which begins with a {@code SessionLog.START} (TensorFlow's
 * convention: one per session).
 *
 * <p>Resume. A run resumed from the checkpoint of step {@code s} computes steps {@code s+1, ...}
 * again, so the points an interrupted process wrote after {@code s} must disappear. TensorBoard
 * 2.21's loaders follow different rules (observed, see TB_NOTES.md):
 * <ul>
 *   <li>the Python loader of the TensorBoard app ({@code --load_fast=false}): the first START of
 *       a run is ignored; every later START at step {@code p} drops every point read so far
 *       with step {@code >= p};</li>
 *   <li>the default Rust loader ({@code tensorboard-data-server}) ignores SessionLog; a point
 *       drops the earlier points of its own tag with step {@code >=} its step.</li>
 * </ul>
 * So when earlier files hold points after {@code s}, the new file's START is at step 0 (the
 * Python loader forgets everything earlier), followed by a copy of every point up to {@code s}
 * that TensorBoard showed (original wall times and values; each tag's first copy makes the Rust
 * loader forget that tag's earlier points), and then the new points. Both loaders then show
 * each tag's points up to {@code s} once and the resumed process's points after it. After a
 * clean stop at {@code s} nothing is superseded: the START is at {@code s+1} and nothing is
 * copied. The file appears only complete (see {@link EventFileWriter#open(Path, List)}): a
 * process killed while copying leaves the old view. One gap remains with the Rust loader: a tag
 * whose every point came after {@code s} keeps its stale points until the resumed run writes
 * that tag again.
 */
public final class TensorBoardLog implements Closeable {
    /** The run directory's subdirectory holding the event files. */
    public static final String DIR = "tb";

    private final EventFileWriter writer;
    private final List<String> notes;

    private TensorBoardLog(EventFileWriter writer, List<String> notes) {
        this.writer = writer;
        this.notes = notes;
    }

    /**
     * Opens a new event file in {@code runDir/tb/}. {@code resumeStep}: the step of the checkpoint
     * the run continues from, whose points are kept; 0 for a new run (nothing earlier is kept).
     */
    public static TensorBoardLog open(Path runDir, long resumeStep) throws IOException {
        Path dir = runDir.resolve(DIR);
        removeUnfinished(dir);
        List<String> notes = new ArrayList<>();
        List<Event> shown = shown(EventFileReader.eventFiles(dir), notes);
        List<Event> kept = shown.stream().filter(e -> resumeStep > 0 && e.step() <= resumeStep).toList();
        boolean superseded = kept.size() < shown.size(); // never after a clean stop at resumeStep
        long startStep = superseded || resumeStep == 0 ? 0 : resumeStep + 1;
        List<Event> preamble = new ArrayList<>();
        preamble.add(new Event(Event.Kind.SESSION_START, EventFileWriter.now(), startStep, null, 0, null));
        if (superseded) {
            preamble.addAll(kept);
        }
        return new TensorBoardLog(EventFileWriter.open(dir, preamble), notes);
    }

    /** Scalars of one step (e.g. {@code train/loss}, {@code train/lr}), now, as one event. */
    public void scalars(long step, Map<String, Double> values) throws IOException {
        writer.scalars(step, EventFileWriter.now(), values);
    }

    /** A text point (e.g. the resolved config). */
    public void text(String tag, long step, String text) throws IOException {
        writer.text(tag, step, text);
    }

    /** Hands what was written to the OS; call at every evaluation (it also happens every 30 s). */
    public void flush() throws IOException {
        writer.flush();
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }

    /** The file this process writes. */
    public Path file() {
        return writer.file();
    }

    /** One line per earlier file that was cut short or damaged (only the points before it were kept). */
    public List<String> notes() {
        return List.copyOf(notes);
    }

    /**
     * The points (scalars and texts) that TensorBoard shows from {@code files}, in file order:
     * a SESSION_START drops earlier points with a step >= its own (a run's first START, which
     * the Python loader ignores, comes before any point in files of this package), and a point
     * drops earlier points of its tag with a step >= its own: both loaders' rules, which agree
     * on files of this package. A file is read up to its first damaged record, as TensorBoard's
     * Python loader reads it (2.21's Rust loader was seen to read on past a bad data CRC).
     */
    static List<Event> shown(List<Path> files, List<String> notes) throws IOException {
        Map<String, List<Numbered>> byTag = new HashMap<>();
        long n = 0;
        for (Path file : files) {
            try (EventFileReader r = EventFileReader.open(file)) {
                for (Event e = r.next(); e != null; e = r.next()) {
                    if (e.kind() == Event.Kind.SESSION_START) {
                        for (List<Numbered> points : byTag.values()) {
                            dropFrom(points, e.step());
                        }
                    } else if (e.kind() == Event.Kind.SCALAR || e.kind() == Event.Kind.TEXT) {
                        List<Numbered> points = byTag.computeIfAbsent(e.tag(), t -> new ArrayList<>());
                        dropFrom(points, e.step());
                        points.add(new Numbered(n++, e));
                    }
                }
                if (r.truncated()) {
                    notes.add(file + " ends inside a record (its writer was stopped mid-write): the points before it are kept");
                }
            } catch (IOException e) {
                notes.add(e.getMessage() + ": the points before it are kept");
            }
        }
        return byTag.values().stream().flatMap(List::stream)
                .sorted(Comparator.comparingLong(Numbered::n)).map(Numbered::event).toList();
    }

    private record Numbered(long n, Event event) {}

    /** Drops the trailing points with step >= {@code step} (a tag's points are in step order). */
    private static void dropFrom(List<Numbered> points, long step) {
        while (!points.isEmpty() && points.get(points.size() - 1).event().step() >= step) {
            points.remove(points.size() - 1);
        }
    }

    /** Removes the temporary file of a process killed while opening its event file (never read by TensorBoard). */
    private static void removeUnfinished(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(p -> p.getFileName().toString().startsWith(EventFileWriter.TEMP_PREFIX)).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
