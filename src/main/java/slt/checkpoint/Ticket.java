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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import slt.model.Gpt2;
import slt.model.Host;
import slt.model.MaskedBlock;
import slt.model.StateMismatch;

/**
 * A strong lottery ticket as what it is: the run's resolved config (whose {@code train.seed}
 * regenerates every random weight bit for bit) plus one bit per weight saying whether it is kept.
 * For GPT-2 small that is about 1/32 of an fp32 copy of the model.
 *
 * <p>File layout: magic {@code SLTTICK1}; a little-endian u32 header length and a JSON header
 * ({@code config} as YAML text, {@code step}, {@code val_loss}, and per masked tensor its
 * {@code name}, {@code shape}, {@code kept} count and byte {@code offset}/{@code bytes}); the
 * packed masks (entry i of a tensor, in row-major order, is bit i % 8 of byte i / 8); then the
 * SHA-256 of everything before it.
 */
public record Ticket(String configYaml, long step, double valLoss, Map<String, Mask> masks) {
    private static final byte[] MAGIC = "SLTTICK1".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor's mask: its shape, how many entries are kept, and the packed bits. */
    public record Mask(long[] shape, long kept, byte[] bits) {
        public long numel() {
            return new Shape(shape).size();
        }
    }

    /** The ticket held by {@code model}'s current masks. */
    public static Ticket of(Gpt2 model, String configYaml, long step, double valLoss) {
        Map<String, Mask> masks = new LinkedHashMap<>();
        for (MaskedBlock w : model.weights()) {
            if (w.role() != MaskedBlock.Role.MASKED) {
                continue;
            }
            boolean[] keep;
            keep = Host.booleans(w.mask());
            byte[] bits = new byte[(keep.length + 7) / 8];
            long kept = 0;
            for (int i = 0; i < keep.length; i++) {
                if (keep[i]) {
                    bits[i >>> 3] |= (byte) (1 << (i & 7));
                    kept++;
                }
            }
            masks.put(w.name(), new Mask(w.weight().getShape().getShape(), kept, bits));
        }
        if (masks.isEmpty()) {
            throw new StateMismatch("the model has no masked weights (dense mode): it holds no ticket");
        }
        return new Ticket(configYaml, step, valLoss, masks);
    }

    /** Installs this ticket's masks into {@code model} (built from the same config). */
    public void applyTo(Gpt2 model) {
        int applied = 0;
        for (MaskedBlock w : model.weights()) {
            if (w.role() != MaskedBlock.Role.MASKED) {
                continue;
            }
            Mask m = masks.get(w.name());
            if (m == null || !Arrays.equals(m.shape(), w.weight().getShape().getShape())) {
                throw new StateMismatch("ticket has no mask of shape " + w.weight().getShape() + " for " + w.name());
            }
            int n = Math.toIntExact(m.numel());
            boolean[] values = new boolean[n];
            for (int i = 0; i < n; i++) {
                values[i] = ((m.bits()[i >>> 3] >>> (i & 7)) & 1) != 0;
            }
            NDManager manager = w.weight().getArray().getManager();
            w.setMask(model.kernels(), manager.create(values, new Shape(m.shape())));
            applied++;
        }
        if (applied != masks.size()) {
            throw new StateMismatch("ticket holds " + masks.size() + " masks, the model has " + applied);
        }
    }

    /** Writes the ticket (atomically: temporary file, fsync, rename). */
    public void write(Path file) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.put("format", "slt-ticket");
        header.put("version", 1);
        header.put("step", step);
        header.put("val_loss", valLoss);
        header.put("bit_order", "entry i (row-major) is bit i % 8 of byte i / 8");
        header.put("config", configYaml);
        ArrayNode list = header.putArray("masks");
        long offset = 0;
        for (Map.Entry<String, Mask> e : masks.entrySet()) {
            ObjectNode t = list.addObject();
            t.put("name", e.getKey());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().shape()) {
                shape.add(d);
            }
            t.put("kept", e.getValue().kept());
            t.put("offset", offset);
            t.put("bytes", e.getValue().bits().length);
            offset += e.getValue().bits().length;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        ByteBuffer head = ByteBuffer.allocate(MAGIC.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        head.put(MAGIC).putInt(json.length);
        MessageDigest sha = sha256();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(head.array());
        out.write(json);
        for (Mask m : masks.values()) {
            out.write(m.bits());
        }
        byte[] body = out.toByteArray();
        byte[] all = Arrays.copyOf(body, body.length + 32);
        System.arraycopy(sha.digest(body), 0, all, body.length, 32);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Checkpoints.replaceDurably(file, all);
    }

    /** Reads and verifies a ticket; a damaged file is an IOException naming it. */
    public static Ticket read(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException("it is a directory; give the ticket file that slt export wrote (e.g. run.ticket)");
        }
        byte[] all = Files.readAllBytes(file);
        if (all.length < MAGIC.length + 4 + 32 || !Arrays.equals(Arrays.copyOf(all, MAGIC.length), MAGIC)) {
            throw new IOException(file + " is not a ticket file (no SLTTICK1 header)");
        }
        byte[] body = Arrays.copyOf(all, all.length - 32);
        if (!Arrays.equals(sha256().digest(body), Arrays.copyOfRange(all, all.length - 32, all.length))) {
            throw new IOException(file + " is damaged: its SHA-256 checksum does not match its contents");
        }
        int headerLength = ByteBuffer.wrap(all, MAGIC.length, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        int dataStart = MAGIC.length + 4 + headerLength;
        JsonNode h = JSON.readTree(new String(all, MAGIC.length + 4, headerLength, StandardCharsets.UTF_8));
        Map<String, Mask> masks = new LinkedHashMap<>();
        for (JsonNode t : h.get("masks")) {
            long[] shape = new long[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.get("shape").get(i).asLong();
            }
            int from = dataStart + t.get("offset").asInt();
            byte[] bits = Arrays.copyOfRange(all, from, from + t.get("bytes").asInt());
            masks.put(t.get("name").asText(), new Mask(shape, t.get("kept").asLong(), bits));
        }
        return new Ticket(h.get("config").asText(), h.get("step").asLong(), h.get("val_loss").asDouble(), masks);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
