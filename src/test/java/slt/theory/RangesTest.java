package slt.theory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import slt.UserError;

class RangesTest {
    @Test
    void formsOfLists() {
        assertEquals(List.of(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100), Ranges.parse("--hidden", "0:100:10", 0));
        assertEquals(List.of(8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192), Ranges.parse("--length", "8:8192:x2", 1));
        assertEquals(List.of(20, 40), Ranges.parse("--hidden", "40, 20,20", 0));
        assertEquals(List.of(1, 2, 3, 4), Ranges.parse("--blocks", "1:4", 1));
        assertEquals(List.of(100, 125, 150, 175, 200, 225), Ranges.parse("--hidden", "100:225:25", 1));
        assertEquals(List.of(0, 7), Ranges.parse("--hidden", "0:10:7", 0));
    }

    @Test
    void badListsAreOneLineUserErrors() {
        for (String[] c : new String[][] {{"10:5:1", "start 10 is above the end 5"}, {"0:10:0", "step must be at least 1"},
            {"a", "'a' is not a whole number"}, {"", "empty"}, {"1,,2", "empty item"}, {"1:2:3:4", "too many"},
            {"0:64:x2", "geometric range must start at 1"}, {"2:64:x1", "factor must be at least 2"}, {"-5", "below the smallest"}}) {
            UserError e = assertThrows(UserError.class, () -> Ranges.parse("--hidden", c[0], 0), c[0]);
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
            assertTrue(e.getMessage().startsWith("--hidden"), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), "one line");
        }
    }

    @Test
    void everyExampleAnErrorSuggestsIsItselfAccepted() {
        Pattern option = Pattern.compile("--length ([0-9][0-9:x,]*[0-9])");
        for (int min : new int[] {0, 1, 2}) {
            for (String bad : new String[] {"", "a", "5:1", "1:2:3:4", "1:9:0", "1:9:x1", "1,,2", "1:b"}) {
                String msg = assertThrows(UserError.class, () -> Ranges.parse("--length", bad, min)).getMessage();
                if (!msg.contains("e.g.")) { // the one error without an example names the bound instead
                    assertTrue(msg.contains("is below the smallest allowed value " + min), msg);
                    continue;
                }
                Matcher m = option.matcher(msg.substring(msg.indexOf("e.g.")));
                int found = 0;
                while (m.find()) {
                    assertFalse(Ranges.parse("--length", m.group(1), min).isEmpty(), m.group(1));
                    found++;
                }
                assertTrue(found > 0, msg);
            }
        }
    }
}
