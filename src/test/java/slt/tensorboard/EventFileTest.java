package slt.tensorboard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TFRecord framing, both CRCs, the Event encoding, and reading back (damage, cut-short files). */
class EventFileTest {
    @TempDir
    Path tmp;

    // ---- CRC32C and its mask, against independent computations -----------------------------

    /** CRC-32C, bit by bit (reflected polynomial 0x82F63B78): independent of java.util.zip. */
    static int crc32cBitwise(byte[] b, int off, int len) {
        int crc = 0xFFFFFFFF;
        for (int i = off; i < off + len; i++) {
            crc ^= b[i] & 0xFF;
            for (int k = 0; k < 8; k++) {
                crc = (crc >>> 1) ^ (0x82F63B78 & -(crc & 1));
            }
        }
        return ~crc;
    }

    static int maskedBitwise(byte[] b, int off, int len) {
        return Integer.rotateRight(crc32cBitwise(b, off, len), 15) + 0xa282ead8;
    }

    @Test
    void crc32cMatchesTheStandardCheckValueAndABitwiseImplementation() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xE3069283, crc32cBitwise(check, 0, 9), "the CRC-32C check value (RFC 3720)");
        CRC32C jdk = new CRC32C();
        jdk.update(check);
        assertEquals(0xE3069283L, jdk.getValue());
        Random r = new Random(1);
        for (int n : new int[] {0, 1, 8, 100, 4099}) {
            byte[] b = new byte[n + 3];
            r.nextBytes(b);
            assertEquals(maskedBitwise(b, 3, n), TfRecord.maskedCrc32c(b, 3, n), "masked CRC of " + n + " bytes");
        }
    }

    // ---- byte-exact against TensorBoard's own writer -----------------------------------------

    /**
     * Records written by TensorBoard 2.21's own Python writer (tensorboard.summary.writer.
     * record_writer.RecordWriter over event_pb2.Event; the text value from
     * tensorboard.plugins.text.summary_v2.text_pb), as hex: see TB_NOTES.md for the script.
     */
    private static final String PY_SCALAR = "200000000000000029eda9500900002040fc54d941100a2a130a110a0a747261696e2f6c6f7373150000e84004ff423a";
    private static final String PY_TEXT = "3700000000000000e7e8ca590900005040fc54d9412a2c0a2a0a06636f6e666967421608071200421072756e3a0a20206e616d653a20c3bc0a4a080a060a0474657874061c6718";
    private static final String PY_START = "0f000000000000006d532b090900008040fc54d94110643a020801452a66de";

    @Test
    void recordsAreByteIdenticalToTensorBoardsOwnWriter() throws IOException {
        List<Event> events = List.of(
                Event.scalar("train/loss", 10, 7.25f, 1700000000.5),
                Event.text("config", 0, "run:\n  name: ü\n", 1700000001.25),
                new Event(Event.Kind.SESSION_START, 1700000002.0, 100, null, 0, null));
        Path file;
        try (EventFileWriter w = EventFileWriter.open(tmp, events)) {
            file = w.file();
        }
        List<byte[]> records = records(Files.readAllBytes(file));
        assertEquals(4, records.size(), "file version + 3");
        HexFormat hex = HexFormat.of();
        assertEquals(PY_SCALAR, hex.formatHex(records.get(1)));
        assertEquals(PY_TEXT, hex.formatHex(records.get(2)));
        assertEquals(PY_START, hex.formatHex(records.get(3)));
    }

    /** Splits a file into whole records (framing included), checking both CRCs independently. */
    static List<byte[]> records(byte[] file) {
        List<byte[]> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            int start = b.position();
            long length = b.getLong();
            assertEquals(maskedBitwise(file, start, 8), b.getInt(), "length CRC of the record at " + start);
            b.position(b.position() + (int) length);
            assertEquals(maskedBitwise(file, start + 12, (int) length), b.getInt(), "data CRC of the record at " + start);
            byte[] record = new byte[b.position() - start];
            System.arraycopy(file, start, record, 0, record.length);
            out.add(record);
        }
        return out;
    }

    // ---- round trip -----------------------------------------------------------------------

    @Test
    void whatIsWrittenIsReadBackWithFramingCheckedIndependently() throws IOException {
        String longText = "key: value\n".repeat(40) + "ünïcødé ✓"; // > 127 bytes: a two-byte length varint
        Map<String, Double> train = new LinkedHashMap<>();
        train.put("train/loss", 7.940123456789);
        train.put("train/lr", 1e-4);
        train.put("train/tokens_per_s", 1234.5);
        Path file;
        try (EventFileWriter w = EventFileWriter.open(tmp)) {
            file = w.file();
            w.text("config", 0, longText, 1000.0);
            w.scalars(10, 1001.5, train);
            w.scalar("val/loss", 1_000_000_000_000L, -3.5, 1002.0); // a step past 32 bits
            w.scalar("val/ppl", 20, Double.NaN, 1003.0);
            w.sessionStart(7, 1004.0);
        }
        String name = file.getFileName().toString();
        assertTrue(name.matches("events\\.out\\.tfevents\\.\\d{10}\\.[A-Za-z0-9._-]+\\." + ProcessHandle.current().pid()), name);
        assertEquals(6, records(Files.readAllBytes(file)).size());

        List<Event> read = EventFileReader.readAll(file);
        assertEquals(8, read.size());
        Event version = read.get(0);
        assertEquals(Event.Kind.FILE_VERSION, version.kind());
        assertEquals("brain.Event:2", version.text());
        assertTrue(Math.abs(version.wallTime() - System.currentTimeMillis() / 1000.0) < 60);
        assertEquals(Event.text("config", 0, longText, 1000.0), read.get(1));
        assertEquals(Event.scalar("train/loss", 10, (float) 7.940123456789, 1001.5), read.get(2));
        assertEquals(Event.scalar("train/lr", 10, 1e-4f, 1001.5), read.get(3));
        assertEquals(Event.scalar("train/tokens_per_s", 10, 1234.5f, 1001.5), read.get(4));
        assertEquals(Event.scalar("val/loss", 1_000_000_000_000L, -3.5f, 1002.0), read.get(5));
        assertEquals("val/ppl", read.get(6).tag());
        assertTrue(Float.isNaN(read.get(6).value()));
        assertEquals(new Event(Event.Kind.SESSION_START, 1004.0, 7, null, 0, null), read.get(7));
    }

    @Test
    void scalarsOfOneStepShareOneEvent() throws IOException {
        Path file;
        try (EventFileWriter w = EventFileWriter.open(tmp)) {
            file = w.file();
            w.scalars(10, 1.0, Map.of("a", 1.0, "b", 2.0, "c", 3.0));
        }
        assertEquals(2, records(Files.readAllBytes(file)).size(), "file version + one event");
        assertEquals(3, EventFileReader.readAll(file).stream().filter(e -> e.kind() == Event.Kind.SCALAR).count());
    }

    // ---- damage ---------------------------------------------------------------------------

    @Test
    void everySingleFlippedByteIsDetected() throws IOException {
        Path file = smallFile();
        byte[] good = Files.readAllBytes(file);
        Path bad = tmp.resolve("bad.tfevents");
        for (int i = 0; i < good.length; i++) {
            byte[] b = good.clone();
            b[i] ^= 0x10;
            Files.write(bad, b);
            IOException e = assertThrows(IOException.class, () -> EventFileReader.readAll(bad), "byte " + i);
            assertFalse(e instanceof EOFException);
            assertTrue(e.getMessage().startsWith(bad + ": damaged event record at byte "), e.getMessage());
        }
    }

    @Test
    void aFileCutInsideARecordEndsThereWithoutError() throws IOException {
        Path file = smallFile();
        byte[] good = Files.readAllBytes(file);
        List<byte[]> records = records(good);
        Path cut = tmp.resolve("cut.tfevents");
        int whole = 0;
        int end = 0;
        for (int len = 0; len <= good.length; len++) {
            if (whole < records.size() && len == end + records.get(whole).length) {
                end = len;
                whole++;
            }
            Files.write(cut, Arrays.copyOf(good, len));
            try (EventFileReader r = EventFileReader.open(cut)) {
                int n = 0;
                while (r.next() != null) {
                    n++;
                }
                assertEquals(whole, n, "cut at " + len); // one entry per record in this file
                assertEquals(len != end, r.truncated(), "cut at " + len);
            }
        }
    }

    @Test
    void aReaderPastTheEndKeepsReturningNull() throws IOException {
        try (EventFileReader r = EventFileReader.open(smallFile())) {
            while (r.next() != null) {
                // drain
            }
            assertNull(r.next());
            assertFalse(r.truncated());
        }
    }

    @Test
    void theProtobufReaderRefusesMalformedMessages() {
        // a length-delimited field longer than its message; a varint that never ends
        assertThrows(IOException.class, () -> readAllFields(new byte[] {0x0A, 0x05, 'a'}));
        assertThrows(IOException.class, () -> readAllFields(new byte[] {0x10, (byte) 0x80, (byte) 0x80}));
        assertThrows(IOException.class, () -> readAllFields(new byte[] {0x09, 1, 2, 3}));
    }

    private static void readAllFields(byte[] message) throws IOException {
        Proto.Reader r = new Proto.Reader(message);
        while (r.next()) {
            r.skip();
        }
    }

    @Test
    void protobufVarintsRoundTrip() throws IOException {
        long[] values = {0, 1, 127, 128, 300, Integer.MAX_VALUE, 1L << 40, Long.MAX_VALUE, -1};
        Proto.Writer w = new Proto.Writer();
        for (long v : values) {
            w.varint(2, v);
        }
        Proto.Reader r = new Proto.Reader(w.toByteArray());
        for (long v : values) {
            assertTrue(r.next());
            assertEquals(2, r.field());
            assertEquals(v, r.varint());
        }
        assertFalse(r.next());
        assertArrayEquals(new byte[] {0x10, (byte) 0xAC, 0x02}, new Proto.Writer().varint(2, 300).toByteArray(),
                "300 = 0xAC 0x02 (the protobuf documentation's example)");
    }

    private Path smallFile() throws IOException {
        try (EventFileWriter w = EventFileWriter.open(tmp.resolve("small"))) {
            w.scalar("train/loss", 10, 7.5, 1.0);
            w.text("config", 0, "a: 1", 2.0);
            w.scalar("val/loss", 20, 6.5, 3.0);
            return w.file();
        }
    }
}
