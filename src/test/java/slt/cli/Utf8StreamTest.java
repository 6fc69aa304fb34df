package slt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8StreamTest {

    @Test
    void charactersSplitAcrossTokensArePrintedWhole() {
        String text = "aé€😀z"; // 1-, 2-, 3- and 4-byte characters
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        for (int cut = 0; cut <= b.length; cut++) { // every split of the bytes into two "tokens", and byte by byte
            StringWriter w = new StringWriter();
            GenerateCommand.Utf8Stream s = new GenerateCommand.Utf8Stream(new PrintWriter(w, true));
            s.write(java.util.Arrays.copyOfRange(b, 0, cut));
            assertEquals(false, w.toString().contains("\uFFFD"), "no replacement character at cut " + cut + ": " + w);
            s.write(java.util.Arrays.copyOfRange(b, cut, b.length));
            s.finish();
            assertEquals(text, w.toString());
        }
        StringWriter w = new StringWriter();
        GenerateCommand.Utf8Stream s = new GenerateCommand.Utf8Stream(new PrintWriter(w, true));
        for (byte x : b) {
            s.write(new byte[] {x});
            assertEquals(false, w.toString().contains("\uFFFD"), w.toString());
        }
        s.finish();
        assertEquals(text, w.toString());
    }
}
