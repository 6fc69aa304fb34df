package slt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import slt.UserError;

/** Sizes given to {@code slt bench --memory-limit}. */
class BenchCommandTest {

    @Test
    void sizesUseDecimalUnitsAndIbForPowersOf1024() {
        assertEquals(40_000_000_000L, BenchCommand.parseSize("40GB"));
        assertEquals(40_000_000_000L, BenchCommand.parseSize("40g"));
        assertEquals(16L << 30, BenchCommand.parseSize("16GiB"));
        assertEquals(800_000_000L, BenchCommand.parseSize("800MB"));
        assertEquals(1_500_000_000L, BenchCommand.parseSize("1.5G"));
        assertEquals(2L << 40, BenchCommand.parseSize("2TiB"));
        assertEquals(123456L, BenchCommand.parseSize("123456"));
        for (String bad : new String[] {"", "GB", "-1GB", "0", "12 parsecs", "1.2.3G"}) {
            assertThrows(UserError.class, () -> BenchCommand.parseSize(bad), bad);
        }
    }
}
