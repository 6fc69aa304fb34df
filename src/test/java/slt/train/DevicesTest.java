package slt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class DevicesTest {

    @Test
    void theAllocatorIsReadFromTheMappedLibraries() {
        String libc = "7f1c2a000000-7f1c2a028000 r--p 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6";
        String jemalloc = "7f1c2b000000-7f1c2b040000 r-xp 00000000 08:01 5678 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
        assertEquals("glibc malloc", Devices.allocatorIn(List.of(libc)));
        assertEquals("jemalloc", Devices.allocatorIn(List.of(libc, jemalloc)));
    }

    @Test
    void thisProcessReportsWhatItsEnvironmentPreloaded() {
        String preload = System.getenv().getOrDefault("LD_PRELOAD", "");
        assertEquals(preload.contains("libjemalloc") ? "jemalloc" : "glibc malloc", Devices.allocator());
    }

    @Test
    void tf32IsOnOnlyWhenTheVariableSaysSo() {
        for (String on : new String[] {"1", "true", "ON", " yes "}) {
            assertEquals(true, Devices.tf32In(on), on);
        }
        for (String off : new String[] {null, "", "0", "false", "off", "2"}) {
            assertEquals(false, Devices.tf32In(off), String.valueOf(off));
        }
    }
}
