package slt.data;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-level BPE: jtokkit's {@code r50k_base}, which has GPT-2's exact 50,257 ids and
 * merges (DJL.md). Text is encoded as ordinary text ({@code <|endoftext|>} in the input is not
 * special); the end-of-text id is added by the caller. Thread-safe.
 */
public final class Gpt2Tokenizer {
    /** GPT-2's {@code <|endoftext|>} id. */
    public static final int EOT = 50256;

    private static final Encoding ENCODING = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

    private Gpt2Tokenizer() {}

    public static int[] encode(String text) {
        return ENCODING.encodeOrdinary(text).toArray();
    }

    /** Decodes ids; EOT decodes to nothing, so a cached file decodes back to its source text. */
    public static String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    /** The UTF-8 bytes of the decoded ids, EOT skipped (bytes of one character may span ids). */
    public static byte[] decodeBytes(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int id : ids) {
            if (id != EOT) {
                list.add(id);
            }
        }
        return ENCODING.decodeBytes(list);
    }
}
