package slt.tensorboard;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The protobuf wire format, by hand, for the few fields of TensorBoard's {@code Event},
 * {@code Summary}, {@code SummaryMetadata}, {@code TensorProto} and {@code SessionLog} that this
 * package writes and reads (field numbers in {@link EventFileWriter}).
 *
 * <p>Why not protobuf-java: without generated code its {@code CodedOutputStream} saves only the
 * varint arithmetic below, while the field numbers and nesting stay hand-written all the same;
 * generating code would need protoc and TensorBoard's .proto files in the build. The wire format
 * these fields use (varints, 32/64-bit little-endian, length-delimited bytes) is frozen, and the
 * tests read our files with TensorBoard itself.
 */
final class Proto {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LEN = 2;
    static final int FIXED32 = 5;

    private Proto() {}

    /** Serializes one message, field by field, in the order of the calls. */
    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Writer varint(int field, long v) {
            key(field, VARINT);
            rawVarint(v);
            return this;
        }

        Writer double64(int field, double v) {
            key(field, FIXED64);
            long bits = Double.doubleToRawLongBits(v);
            for (int i = 0; i < 8; i++) {
                out.write((int) (bits >>> (8 * i)));
            }
            return this;
        }

        Writer float32(int field, float v) {
            key(field, FIXED32);
            int bits = Float.floatToRawIntBits(v);
            for (int i = 0; i < 4; i++) {
                out.write(bits >>> (8 * i));
            }
            return this;
        }

        Writer bytes(int field, byte[] b) {
            key(field, LEN);
            rawVarint(b.length);
            out.writeBytes(b);
            return this;
        }

        Writer string(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Writer message(int field, Writer m) {
            return bytes(field, m.toByteArray());
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }

        private void key(int field, int wireType) {
            rawVarint((long) field << 3 | wireType);
        }

        private void rawVarint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) (v & 0x7F) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }
    }

    /**
     * Reads one message's fields in order: {@link #next()} moves to the next field, then one of
     * the value methods (matching {@link #wireType()}) or {@link #skip()} consumes its value.
     */
    static final class Reader {
        private final ByteBuffer in;
        private int field;
        private int wireType;

        Reader(byte[] message) {
            this(ByteBuffer.wrap(message));
        }

        private Reader(ByteBuffer in) {
            this.in = in.order(ByteOrder.LITTLE_ENDIAN);
        }

        /** Moves to the next field; false at the end of the message. */
        boolean next() throws IOException {
            if (!in.hasRemaining()) {
                return false;
            }
            long key = varint();
            field = (int) (key >>> 3);
            wireType = (int) (key & 7);
            return true;
        }

        int field() {
            return field;
        }

        int wireType() {
            return wireType;
        }

        long varint() throws IOException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte b = get();
                v |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    return v;
                }
            }
            throw new IOException("malformed protobuf: a varint longer than 10 bytes");
        }

        double double64() throws IOException {
            check(FIXED64);
            return guard(in::getDouble);
        }

        float float32() throws IOException {
            check(FIXED32);
            return guard(in::getFloat);
        }

        byte[] bytes() throws IOException {
            check(LEN);
            long n = varint();
            if (n < 0 || n > in.remaining()) {
                throw new IOException("malformed protobuf: field " + field + " claims " + n + " bytes, "
                        + in.remaining() + " remain");
            }
            byte[] b = new byte[(int) n];
            in.get(b);
            return b;
        }

        String string() throws IOException {
            return new String(bytes(), StandardCharsets.UTF_8);
        }

        Reader message() throws IOException {
            return new Reader(bytes());
        }

        /** Skips the current field's value. */
        void skip() throws IOException {
            switch (wireType) {
                case VARINT -> varint();
                case FIXED64 -> guard(in::getLong);
                case LEN -> bytes();
                case FIXED32 -> guard(in::getInt);
                default -> throw new IOException("malformed protobuf: wire type " + wireType + " (field " + field + ")");
            }
        }

        private void check(int expected) throws IOException {
            if (wireType != expected) {
                throw new IOException("malformed protobuf: field " + field + " has wire type " + wireType
                        + ", expected " + expected);
            }
        }

        private byte get() throws IOException {
            return guard(in::get);
        }

        private interface Read<T> {
            T get();
        }

        private static <T> T guard(Read<T> read) throws IOException {
            try {
                return read.get();
            } catch (BufferUnderflowException e) {
                throw new IOException("malformed protobuf: a value runs past the end of its message");
            }
        }
    }
}
