package slt.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import slt.model.Host;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
 * mapping each name to dtype, shape and byte offsets (plus string {@code __metadata__}), then the
 * raw little-endian tensor bytes. Readable with {@code safetensors.torch.load_file}. Written and
 * read tensor by tensor, so files may exceed 2 GB (DJL's own encoder counts offsets in an int).
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {}

    /** Writes {@code tensors} (in order) and {@code metadata} to {@code file}, fsynced. */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray a = e.getValue();
            long bytes = a.size() * a.getDataType().getNumOfBytes();
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", a.getDataType().asSafetensors());
            ArrayNode shape = t.putArray("shape");
            for (long d : a.getShape().getShape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, head);
            for (NDArray a : tensors.values()) {
                try (Host.Copy host = Host.copy(a)) { // freed before the next tensor is copied
                    writeFully(ch, host.bytes());
                }
            }
            ch.force(true);
        }
    }

    /** Reads every tensor of {@code file} into {@code manager}, in file order. */
    public static Map<String, NDArray> read(Path file, NDManager manager) throws IOException {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long headerEnd = 8 + headerLength(ch, file);
            ObjectNode header = header(ch, file);
            Iterator<Map.Entry<String, JsonNode>> it = header.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                DataType type = DataType.fromSafetensors(t.get("dtype").asText());
                long[] dims = new long[t.get("shape").size()];
                for (int i = 0; i < dims.length; i++) {
                    dims[i] = t.get("shape").get(i).asLong();
                }
                long begin = t.get("data_offsets").get(0).asLong();
                long end = t.get("data_offsets").get(1).asLong();
                Shape shape = new Shape(dims);
                if (end - begin != shape.size() * type.getNumOfBytes() || headerEnd + end > ch.size()) {
                    throw new IOException(file + ": tensor " + e.getKey() + " has inconsistent offsets (truncated file?)");
                }
                MappedByteBuffer data = ch.map(FileChannel.MapMode.READ_ONLY, headerEnd + begin, end - begin);
                NDArray a = manager.create(data.order(ByteOrder.LITTLE_ENDIAN), shape, type);
                a.setName(e.getKey());
                out.put(e.getKey(), a);
            }
        }
        return out;
    }

    /** The string metadata of {@code file}. */
    public static Map<String, String> metadata(Path file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            JsonNode meta = header(ch, file).get("__metadata__");
            if (meta != null) {
                meta.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
            }
        }
        return out;
    }

    private static long headerLength(FileChannel ch, Path file) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        if (ch.read(len, 0) != 8) {
            throw new IOException(file + ": not a safetensors file (shorter than 8 bytes)");
        }
        long n = len.flip().getLong();
        if (n <= 0 || n > 100_000_000 || 8 + n > ch.size()) {
            throw new IOException(file + ": not a safetensors file (bad header length " + n + ")");
        }
        return n;
    }

    private static ObjectNode header(FileChannel ch, Path file) throws IOException {
        int n = (int) headerLength(ch, file);
        ByteBuffer json = ByteBuffer.allocate(n);
        ch.read(json, 8);
        JsonNode node = JSON.readTree(new String(json.array(), StandardCharsets.UTF_8).trim());
        if (!(node instanceof ObjectNode obj)) {
            throw new IOException(file + ": safetensors header is not a JSON object");
        }
        return obj;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
