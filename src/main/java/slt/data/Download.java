package slt.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import slt.Sha256;
import slt.UserError;

/**
 * Downloads and unpacks a WikiText zip: resumable (an interrupted download continues from its
 * {@code .part} file with an HTTP Range request), verified against a pinned sha256, then the
 * {@code wiki.*} members are extracted flat into {@code <dir>/<dataset>/}.
 */
public final class Download {
    private static final Logger LOG = LogManager.getLogger(Download.class);
    private static final String MIRROR = "https://wikitext.smerity.com/";

    /** A downloadable archive: where it is and the sha256 it must have. */
    public record Archive(String dataset, String variant, String url, String sha256, long bytes) {
        public String fileName() {
            return url.substring(url.lastIndexOf('/') + 1);
        }
    }

    /**
     * The official WikiText zips (the dataset author's mirror of the original S3 files). Checksums
     * are those Hugging Face's {@code wikitext} dataset script pinned for the original files.
     */
    public static final List<Archive> KNOWN = List.of(
            new Archive("wikitext-103", "raw", MIRROR + "wikitext-103-raw-v1.zip",
                    "91c00ae287f0d699e18605c84afc9e45c192bc6b7797ff8837e5474655a33794", 191_984_949L),
            new Archive("wikitext-103", "tokens", MIRROR + "wikitext-103-v1.zip",
                    "242ba0f20b329cfdf1ccc61e9e9e5b59becf189db7f7a81cd2a0e2fc31539590", 190_229_076L),
            new Archive("wikitext-2", "raw", MIRROR + "wikitext-2-raw-v1.zip",
                    "ef7edb566e3e2b2d31b29c1fdb0c89a4cc683597484c3dc2517919c615435a11", 4_721_645L),
            new Archive("wikitext-2", "tokens", MIRROR + "wikitext-2-v1.zip",
                    "92675f1d63015c1c8b51f1656a52d5bdbc33aafa60cc47a218a66e7ee817488c", 4_475_746L));

    private Download() {}

    /** The pinned archive of {@code dataset} ({@code wikitext-103} or {@code wikitext-2}) and {@code variant}. */
    public static Archive archive(String dataset, String variant) {
        for (Archive a : KNOWN) {
            if (a.dataset().equals(dataset.toLowerCase(Locale.ROOT)) && a.variant().equals(variant.toLowerCase(Locale.ROOT))) {
                return a;
            }
        }
        throw new UserError("unknown dataset '" + dataset + "' / variant '" + variant
                + "': choose wikitext-103 or wikitext-2, and raw or tokens");
    }

    /**
     * Fetches {@code archive} into {@code dir} (resuming a partial download), checks its sha256 and
     * unpacks its {@code wiki.*} files into {@code dir/<dataset>/}. Returns that directory.
     */
    public static Path fetch(Archive archive, Path dir) {
        Path target = dir.resolve(archive.dataset());
        Path zip = dir.resolve(archive.fileName());
        try {
            Files.createDirectories(dir);
            Path lockFile = dir.resolve("." + archive.fileName() + ".lock");
            java.util.Optional<slt.ProcessLock> lock;
            try {
                lock = slt.ProcessLock.tryTake(lockFile);
            } catch (IOException e) { // no locks on this file system: go ahead unprotected
                return fetchLocked(archive, dir, target, zip);
            }
            if (lock.isEmpty()) {
                throw new UserError("another slt process" + slt.ProcessLock.holder(lockFile) + " is downloading "
                        + archive.fileName() + " into " + dir + ": wait for it to finish (or stop it), then run this again");
            }
            try (slt.ProcessLock held = lock.get()) {
                return fetchLocked(archive, dir, target, zip);
            }
        } catch (IOException e) {
            throw new UserError("cannot write into " + dir + ": " + e.getMessage() + " (check free space and permissions)");
        }
    }

    private static Path fetchLocked(Archive archive, Path dir, Path target, Path zip) {
        try {
            String present = Files.isRegularFile(zip) ? Sha256.of(zip) : null;
            if (present == null || !present.equals(archive.sha256())) {
                Path part = dir.resolve(archive.fileName() + ".part");
                try {
                    download(archive, part);
                } catch (Offline e) {
                    throw new UserError(e.getMessage() + (present == null
                            ? ": download " + archive.url() + " elsewhere and put it at " + zip + ", then run the command again"
                            : ": the file already at " + zip + " has sha256 " + present + ", expected " + archive.sha256()
                                    + " (a partial or another file); replace it with " + archive.url() + ", then run the command again"));
                }
                String got = Sha256.of(part);
                if (!got.equals(archive.sha256())) {
                    Files.delete(part);
                    throw new UserError("download of " + archive.url() + " has sha256 " + got + ", expected "
                            + archive.sha256() + ": the file was removed; run the command again (or check the mirror)");
                }
                Files.move(part, zip, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            int n = unzip(zip, target, archive.variant());
            LOG.info("{} files of {} ({}) unpacked into {}", n, archive.dataset(), archive.variant(), target);
            return target;
        } catch (IOException e) {
            throw new UserError("cannot write into " + dir + ": " + e.getMessage() + " (check free space and permissions)");
        }
    }

    private static void download(Archive archive, Path part) throws IOException {
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        HttpClient client = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(20))
                .build();
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(archive.url()))
                .header("User-Agent", "slt-wikitext-download/0.1 (+https://github.com/)");
        if (have > 0) {
            req.header("Range", "bytes=" + have + "-");
            LOG.info("resuming {} at byte {}", archive.url(), have);
        }
        HttpResponse<InputStream> resp;
        try {
            resp = client.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (UnknownHostException | ConnectException | HttpConnectTimeoutException e) {
            throw new Offline(archive, e);
        } catch (IOException e) {
            if (e.getCause() instanceof UnknownHostException || e.getCause() instanceof ConnectException) {
                throw new Offline(archive, e);
            }
            throw new UserError("download of " + archive.url() + " failed: " + e + "; run the command again to resume");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserError("download interrupted; run the command again to resume");
        }
        int status = resp.statusCode();
        if (status == 416 && have > 0) { // nothing left to fetch: the part is complete
            resp.body().close();
            return;
        }
        boolean append = status == 206;
        if (status != 200 && status != 206) {
            resp.body().close();
            throw new UserError("download of " + archive.url() + " failed: the server answered HTTP " + status
                    + "; try again later or download from a mirror");
        }
        long length = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
        long total = length < 0 ? archive.bytes() : (append ? have : 0) + length;
        try (InputStream in = resp.body();
                OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
                ProgressBar bar = new ProgressBarBuilder().setTaskName("download").setInitialMax(total)
                        .setUnit(" MB", 1 << 20).setStyle(ProgressBarStyle.ASCII).showSpeed()
                        .setConsumer(System.console() != null ? new ConsoleProgressBarConsumer(System.err)
                                : new DelegatingProgressBarConsumer(line -> { }))
                        .build()) {
            bar.stepTo(append ? have : 0);
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
                bar.stepBy(n);
            }
        } catch (IOException e) {
            throw new UserError("download of " + archive.url() + " broke off (" + e.getMessage()
                    + "); run the command again to resume from " + Files.size(part) + " bytes");
        }
    }

    /** The archive's host cannot be reached: the caller says what to do, knowing what is on disk. */
    private static final class Offline extends RuntimeException {
        Offline(Archive archive, Exception e) {
            super("cannot reach " + URI.create(archive.url()).getHost() + " (" + e.getClass().getSimpleName()
                    + "): this machine looks offline", e);
        }
    }

    /** Extracts members named {@code wiki.<split>.<ext>} flat into {@code target}; returns how many. */
    static int unzip(Path zip, Path target, String variant) throws IOException {
        Files.createDirectories(target);
        String ext = variant.equals("tokens") ? ".tokens" : ".raw";
        int n = 0;
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                String name = e.getName().substring(e.getName().lastIndexOf('/') + 1);
                if (e.isDirectory() || !name.matches("wiki\\.(train|valid|test)\\Q" + ext + "\\E")) {
                    continue;
                }
                Path tmp = target.resolve(name + ".tmp");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, target.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                n++;
            }
        }
        if (n == 0) {
            throw new UserError(zip + " holds no wiki.*" + ext + " files: is it a WikiText " + variant + " archive?");
        }
        return n;
    }
}
