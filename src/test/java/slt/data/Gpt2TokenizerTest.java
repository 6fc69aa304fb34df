package slt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Gpt2TokenizerTest {

    @Test
    void helloWorldHasGpt2Ids() {
        // Reference ids from OpenAI's GPT-2 tokenizer (tiktoken "gpt2" / HF GPT2TokenizerFast).
        assertArrayEquals(new int[] {15496, 995}, Gpt2Tokenizer.encode("Hello world"));
        assertArrayEquals(new int[] {15496}, Gpt2Tokenizer.encode("Hello"));
        assertArrayEquals(new int[] {995}, Gpt2Tokenizer.encode(" world"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "Hello world",
        "naïve café — 東京",
        " = Homarus gammarus = \n",
        " The lobster @-@ like 1 @,@ 000 @.@ 5 m \n",
        "emoji 🦞 and tabs\tand\r\nCRLF",
        "<|endoftext|> is ordinary text here",
        ""
    })
    void decodeInvertsEncode(String s) {
        int[] ids = Gpt2Tokenizer.encode(s);
        assertEquals(s, Gpt2Tokenizer.decode(ids));
        assertArrayEquals(s.getBytes(StandardCharsets.UTF_8), Gpt2Tokenizer.decodeBytes(ids));
    }

    @Test
    void endOfTextInInputIsNotSpecial() {
        int[] ids = Gpt2Tokenizer.encode("<|endoftext|>");
        assertTrue(ids.length > 1, "ordinary encoding splits the marker into several ids");
        for (int id : ids) {
            assertTrue(id != Gpt2Tokenizer.EOT);
        }
    }

    @Test
    void eotDecodesToNothing() {
        assertEquals(50256, Gpt2Tokenizer.EOT);
        assertEquals("", Gpt2Tokenizer.decode(new int[] {Gpt2Tokenizer.EOT}));
        assertEquals(0, Gpt2Tokenizer.decodeBytes(new int[] {Gpt2Tokenizer.EOT, Gpt2Tokenizer.EOT}).length);
        int[] hello = Gpt2Tokenizer.encode("Hello");
        int[] world = Gpt2Tokenizer.encode(" world");
        int[] mixed = new int[hello.length + world.length + 2];
        mixed[0] = Gpt2Tokenizer.EOT;
        System.arraycopy(hello, 0, mixed, 1, hello.length);
        mixed[1 + hello.length] = Gpt2Tokenizer.EOT;
        System.arraycopy(world, 0, mixed, 2 + hello.length, world.length);
        assertEquals("Hello world", Gpt2Tokenizer.decode(mixed));
    }

    @Test
    void multiByteCharacterSplitAcrossIdsDecodesWhenJoined() {
        // A rare CJK character is split into byte-level ids; decodeBytes of the whole sequence
        // must give the exact UTF-8 bytes even though single ids are not valid UTF-8 on their own.
        String s = "東京";
        int[] ids = Gpt2Tokenizer.encode(s);
        byte[] joined = new byte[0];
        for (int id : ids) {
            byte[] part = Gpt2Tokenizer.decodeBytes(new int[] {id});
            byte[] next = new byte[joined.length + part.length];
            System.arraycopy(joined, 0, next, 0, joined.length);
            System.arraycopy(part, 0, next, joined.length, part.length);
            joined = next;
        }
        assertArrayEquals(s.getBytes(StandardCharsets.UTF_8), joined);
    }
}
