package slt.tensorboard;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * TFRecord framing, the container of TensorBoard event files: each record is
 * {@code uint64 length, uint32 masked_crc32c(length), data[length], uint32 masked_crc32c(data)},
 * little-endian. A CRC32C is "masked" by rotating it right by 15 bits and adding 0xa282ead8.
 */
final class TfRecord {
    /** Larger records are taken for damage (our events are under a kilobyte; a config text a few). */
    static final long MAX_LENGTH = 64L << 20;
    private static final int MASK_DELTA = 0xa282ead8;

    private TfRecord() {}

    /** The masked CRC32C of {@code b[off, off + len)}. */
    static int maskedCrc32c(byte[] b, int off, int len) {
        CRC32C crc = new CRC32C();
        crc.update(b, off, len);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + MASK_DELTA;
    }

    /** Writes one record holding {@code data}. */
    static void write(OutputStream out, byte[] data) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(data.length).putInt(maskedCrc32c(head.array(), 0, 8));
        ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        tail.putInt(maskedCrc32c(data, 0, data.length));
        out.write(head.array());
        out.write(data);
        out.write(tail.array());
    }

    /**
     * Reads the next record's data: null at the end of the stream, {@link EOFException} when the
     * stream ends inside a record (a writer stopped mid-record), {@link IOException} when a CRC
     * does not match or the length is impossible.
     */
    static byte[] read(InputStream in) throws IOException {
        byte[] head = in.readNBytes(12);
        if (head.length == 0) {
            return null;
        }
        if (head.length < 12) {
            throw new EOFException("the file ends inside a record header");
        }
        ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        long length = h.getLong();
        if (h.getInt() != maskedCrc32c(head, 0, 8)) {
            throw new IOException("record length CRC mismatch");
        }
        if (length < 0 || length > MAX_LENGTH) {
            throw new IOException("record length " + length + " is impossible");
        }
        byte[] data = in.readNBytes((int) length);
        byte[] crc = in.readNBytes(4);
        if (data.length < length || crc.length < 4) {
            throw new EOFException("the file ends inside a record");
        }
        if (ByteBuffer.wrap(crc).order(ByteOrder.LITTLE_ENDIAN).getInt() != maskedCrc32c(data, 0, data.length)) {
            throw new IOException("record data CRC mismatch");
        }
        return data;
    }
}
