package slt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import slt.UserError;

/** The real download code against a local HTTP server that serves a zip this test builds. */
class DownloadTest {
    private static final String ZIP_NAME = "wikitext-2-raw-v1.zip";
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    @TempDir
    Path dir;

    private HttpServer server;
    private Map<String, String> members;
    private byte[] zip;
    /** Range header of each request, "" when none was sent. */
    private final List<String> ranges = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong bytesServed = new AtomicLong();
    private volatile boolean honourRange = true;

    @BeforeEach
    void startServer() throws IOException {
        members = new LinkedHashMap<>();
        members.put("wiki.train.raw", WikiFixtures.wikiText(12, 3));
        members.put("wiki.valid.raw", WikiFixtures.wikiText(2, 2).replace("Article", "Valid"));
        members.put("wiki.test.raw", WikiFixtures.wikiText(2, 1).replace("Article", "Test") + " last line 東京");
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("wikitext-2-raw/", null);
        for (Map.Entry<String, String> e : members.entrySet()) {
            entries.put("wikitext-2-raw/" + e.getKey(), e.getValue());
        }
        entries.put("wikitext-2-raw/README.txt", "not a split\n");
        entries.put("wikitext-2-raw/wiki.train.tokens", "word-level , not raw\n");
        zip = zip(entries);
        assertTrue(zip.length > 1000, "zip large enough to split: " + zip.length);

        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        server.createContext("/", this::serve);
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    private void serve(HttpExchange ex) throws IOException {
        try (ex) {
            String range = ex.getRequestHeaders().getFirst("Range");
            ranges.add(range == null ? "" : range);
            if (!ex.getRequestURI().getPath().equals("/" + ZIP_NAME)) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            long from = 0;
            int status = 200;
            if (range != null && honourRange) {
                Matcher m = RANGE.matcher(range);
                if (!m.matches()) {
                    ex.sendResponseHeaders(400, -1);
                    return;
                }
                from = Long.parseLong(m.group(1));
                if (from >= zip.length) {
                    ex.getResponseHeaders().add("Content-Range", "bytes */" + zip.length);
                    ex.sendResponseHeaders(416, -1);
                    return;
                }
                status = 206;
                ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (zip.length - 1) + "/" + zip.length);
            }
            int len = zip.length - (int) from;
            ex.getResponseHeaders().add("Content-Type", "application/zip");
            ex.sendResponseHeaders(status, len);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(zip, (int) from, len);
            }
            bytesServed.addAndGet(len);
        }
    }

    private static byte[] zip(Map<String, String> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, String> e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                if (e.getValue() != null) {
                    z.write(e.getValue().getBytes(StandardCharsets.UTF_8));
                }
                z.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private Download.Archive archive() {
        return new Download.Archive("wikitext-2", "raw", url("/" + ZIP_NAME), sha256(zip), zip.length);
    }

    private void assertUnpacked(Path target) throws IOException {
        assertEquals(dir.resolve("wikitext-2"), target);
        try (Stream<Path> files = Files.list(target)) {
            assertEquals(List.of("wiki.test.raw", "wiki.train.raw", "wiki.valid.raw"),
                    files.map(p -> p.getFileName().toString()).sorted().toList(),
                    "only the raw wiki.* members, flat");
        }
        for (Map.Entry<String, String> e : members.entrySet()) {
            assertEquals(e.getValue(), Files.readString(target.resolve(e.getKey()), StandardCharsets.UTF_8), e.getKey());
        }
        assertArrayEquals(zip, Files.readAllBytes(dir.resolve(ZIP_NAME)), "verified zip kept");
        assertFalse(Files.exists(dir.resolve(ZIP_NAME + ".part")));
    }

    // (a)
    @Test
    void downloadsVerifiesAndUnpacksFlat() throws IOException {
        Path target = Download.fetch(archive(), dir);
        assertUnpacked(target);
        assertEquals(List.of(""), ranges, "one request, no Range");
        assertEquals(zip.length, bytesServed.get());
    }

    @Test
    void verifiedZipAlreadyPresentIsNotDownloadedAgain() throws IOException {
        Download.fetch(archive(), dir);
        int requests = ranges.size();
        Files.delete(dir.resolve("wikitext-2").resolve("wiki.valid.raw"));
        server.stop(0); // nothing to reach any more

        Path target = Download.fetch(archive(), dir);
        assertEquals(requests, ranges.size());
        assertUnpacked(target);
    }

    // (b)
    @Test
    void resumesAPartialDownloadWithARangeRequest() throws IOException {
        int n = zip.length / 2 + 7;
        Files.write(dir.resolve(ZIP_NAME + ".part"), Arrays.copyOf(zip, n));

        Path target = Download.fetch(archive(), dir);

        assertEquals(List.of("bytes=" + n + "-"), ranges);
        assertEquals(zip.length - n, bytesServed.get(), "only the rest was sent");
        assertUnpacked(target);
    }

    @Test
    void completePartFileIsAcceptedWhenTheServerAnswers416() throws IOException {
        Files.write(dir.resolve(ZIP_NAME + ".part"), zip);

        Path target = Download.fetch(archive(), dir);

        assertEquals(List.of("bytes=" + zip.length + "-"), ranges);
        assertEquals(0, bytesServed.get());
        assertUnpacked(target);
    }

    // (c)
    @Test
    void serverIgnoringRangeSendsAllAndThePartIsOverwritten() throws IOException {
        honourRange = false;
        int n = zip.length / 3;
        Files.write(dir.resolve(ZIP_NAME + ".part"), Arrays.copyOf(zip, n));

        Path target = Download.fetch(archive(), dir);

        assertEquals(List.of("bytes=" + n + "-"), ranges, "a Range was asked for");
        assertEquals(zip.length, bytesServed.get(), "the server sent everything with 200");
        assertUnpacked(target);
    }

    @Test
    void serverIgnoringRangeOverwritesAPartWithWrongBytes() throws IOException {
        honourRange = false;
        byte[] junk = new byte[zip.length + 100]; // longer than the zip: must be truncated, not appended to
        Arrays.fill(junk, (byte) 'x');
        Files.write(dir.resolve(ZIP_NAME + ".part"), junk);

        assertUnpacked(Download.fetch(archive(), dir));
    }

    // (d)
    @Test
    void checksumMismatchRemovesThePartAndUnpacksNothing() {
        String wrong = sha256("something else".getBytes(StandardCharsets.UTF_8));
        Download.Archive bad = new Download.Archive("wikitext-2", "raw", url("/" + ZIP_NAME), wrong, zip.length);

        UserError e = assertThrows(UserError.class, () -> Download.fetch(bad, dir));

        assertTrue(e.getMessage().contains("sha256"), e.getMessage());
        assertTrue(e.getMessage().contains(sha256(zip)), "names the sha256 it got: " + e.getMessage());
        assertTrue(e.getMessage().contains(wrong), "names the expected sha256: " + e.getMessage());
        assertFalse(Files.exists(dir.resolve(ZIP_NAME + ".part")), ".part removed");
        assertFalse(Files.exists(dir.resolve(ZIP_NAME)), "no zip kept");
        assertFalse(Files.exists(dir.resolve("wikitext-2")), "nothing unpacked");
    }

    @Test
    void corruptedPartIsRemovedSoTheNextRunStartsOver() throws IOException {
        int n = zip.length / 2;
        byte[] corrupt = Arrays.copyOf(zip, n);
        corrupt[10] ^= 0x55;
        Files.write(dir.resolve(ZIP_NAME + ".part"), corrupt);

        UserError e = assertThrows(UserError.class, () -> Download.fetch(archive(), dir));
        assertTrue(e.getMessage().contains("sha256"), e.getMessage());
        assertFalse(Files.exists(dir.resolve(ZIP_NAME + ".part")));

        Path target = Download.fetch(archive(), dir);
        assertEquals(List.of("bytes=" + n + "-", ""), ranges, "resumed, then started over without Range");
        assertUnpacked(target);
    }

    // (e)
    @Test
    void httpErrorStatusIsAUserErrorNamingIt() {
        String missing = url("/missing/" + ZIP_NAME);
        Download.Archive gone = new Download.Archive("wikitext-2", "raw", missing, sha256(zip), zip.length);

        UserError e = assertThrows(UserError.class, () -> Download.fetch(gone, dir));

        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
        assertTrue(e.getMessage().contains(missing), e.getMessage());
        assertFalse(Files.exists(dir.resolve("wikitext-2")));
        assertFalse(Files.exists(dir.resolve(ZIP_NAME)));
    }

    // (f)
    @Test
    void closedPortLooksOffline() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        String unreachable = "http://127.0.0.1:" + port + "/" + ZIP_NAME;
        Download.Archive a = new Download.Archive("wikitext-2", "raw", unreachable, sha256(zip), zip.length);

        long t0 = System.nanoTime();
        UserError e = assertThrows(UserError.class, () -> Download.fetch(a, dir));

        assertTrue((System.nanoTime() - t0) / 1e9 < 15, "refused connections fail fast");
        assertTrue(e.getMessage().contains("offline"), e.getMessage());
        assertTrue(e.getMessage().contains("cannot reach"), e.getMessage());
        assertTrue(e.getMessage().contains(unreachable), e.getMessage());
        assertTrue(e.getMessage().contains(dir.resolve(ZIP_NAME).toString()), "says where to put the zip: " + e.getMessage());
        assertFalse(Files.exists(dir.resolve("wikitext-2")));
    }

    @Test
    void offlineWithADamagedZipInPlaceSaysItFailsItsChecksum() throws IOException {
        // it said "put it at <that same path>"
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        Download.Archive a = new Download.Archive("wikitext-2", "raw", "http://127.0.0.1:" + port + "/" + ZIP_NAME,
                sha256(zip), zip.length);
        Files.createDirectories(dir);
        Files.write(dir.resolve(ZIP_NAME), java.util.Arrays.copyOf(zip, zip.length / 2));
        UserError e = assertThrows(UserError.class, () -> Download.fetch(a, dir));
        assertTrue(e.getMessage().contains("offline") && e.getMessage().contains(dir.resolve(ZIP_NAME) + " has sha256 ")
                && e.getMessage().contains("expected " + sha256(zip)), e.getMessage());
        assertTrue(Files.exists(dir.resolve(ZIP_NAME)), "nothing of the user's is deleted");
    }

    @Test
    void aSecondDownloadIntoTheSameDirectoryIsRefusedNamingTheFirst() throws IOException {
        // two downloads appended to one .part file and both failed their checksum
        Download.Archive a = archive();
        Files.createDirectories(dir);
        try (slt.ProcessLock first = slt.ProcessLock.tryTake(dir.resolve("." + ZIP_NAME + ".lock")).orElseThrow()) {
            UserError e = assertThrows(UserError.class, () -> Download.fetch(a, dir));
            assertTrue(e.getMessage().contains("(pid " + ProcessHandle.current().pid() + ") is downloading"), e.getMessage());
        }
        assertUnpacked(Download.fetch(a, dir));
    }

    // unzip on its own

    @Test
    void unzipOfTheTokensVariantTakesOnlyTokensFiles() throws IOException {
        Path z = dir.resolve("a.zip");
        Files.write(z, zip);
        Path target = dir.resolve("tok");
        assertEquals(1, Download.unzip(z, target, "tokens"));
        assertEquals("word-level , not raw\n", Files.readString(target.resolve("wiki.train.tokens")));
        assertFalse(Files.exists(target.resolve("wiki.train.raw")));
    }

    @Test
    void zipWithoutWikiFilesIsAUserError() throws IOException {
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("something/else.txt", "hello\n");
        Path z = dir.resolve("other.zip");
        Files.write(z, zip(entries));
        UserError e = assertThrows(UserError.class, () -> Download.unzip(z, dir.resolve("out"), "raw"));
        assertTrue(e.getMessage().contains("wiki.*.raw"), e.getMessage());
    }

    // (g)
    @Test
    void knownArchivesArePinned() {
        Download.Archive a = Download.archive("wikitext-103", "raw");
        assertEquals("91c00ae287f0d699e18605c84afc9e45c192bc6b7797ff8837e5474655a33794", a.sha256());
        assertEquals("wikitext-103-raw-v1.zip", a.fileName());
        assertTrue(a.url().startsWith("https://"), a.url());
        assertEquals(a, Download.archive("WikiText-103", "RAW"), "names are case-insensitive");
        assertEquals("wikitext-2-v1.zip", Download.archive("wikitext-2", "tokens").fileName());
        for (Download.Archive k : Download.KNOWN) {
            assertTrue(k.sha256().matches("[0-9a-f]{64}"), k.toString());
            assertTrue(k.bytes() > 0);
        }
        assertEquals(Download.KNOWN.size(), Download.KNOWN.stream().map(Download.Archive::url).distinct().count());
    }

    @Test
    void unknownDatasetOrVariantIsAUserError() {
        UserError e = assertThrows(UserError.class, () -> Download.archive("wikitext-3", "raw"));
        assertTrue(e.getMessage().contains("wikitext-3"), e.getMessage());
        assertTrue(e.getMessage().contains("wikitext-103"), "lists the choices: " + e.getMessage());
        assertThrows(UserError.class, () -> Download.archive("wikitext-103", "bpe"));
    }
}
