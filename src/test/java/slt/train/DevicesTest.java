package slt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.util.List;
import org.junit.jupiter.api.Test;
import slt.UserError;
import slt.config.Config;

class DevicesTest {

    @Test
    void theAllocatorIsReadFromTheMappedLibraries() {
        String libc = "7f1c2a000000-7f1c2a028000 r--p 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6";
        String jemalloc = "7f1c2b000000-7f1c2b040000 r-xp 00000000 08:01 5678 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
        assertEquals("glibc malloc", Devices.allocatorIn(List.of(libc), null));
        assertEquals("jemalloc", Devices.allocatorIn(List.of(libc, jemalloc), null));
        assertEquals("jemalloc", Devices.allocatorIn(List.of(libc, jemalloc), "glibc.malloc.hugetlb=1"));
    }

    @Test
    void glibcsHugePagesAreNamedOnlyWhenTheTunableAsksForThem() {
        String libc = "7f1c2a000000-7f1c2a028000 r--p 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6";
        String huge = "glibc malloc (huge pages)";
        assertEquals(huge, Devices.allocatorIn(List.of(libc), "glibc.malloc.hugetlb=1"));
        assertEquals(huge, Devices.allocatorIn(List.of(libc), "glibc.malloc.arena_max=1:glibc.malloc.hugetlb=2"));
        assertEquals("glibc malloc", Devices.allocatorIn(List.of(libc), "glibc.malloc.hugetlb=0"));
        assertEquals("glibc malloc", Devices.allocatorIn(List.of(libc), "glibc.malloc.hugetlb=10"));
        assertEquals("glibc malloc", Devices.allocatorIn(List.of(libc), ""));
    }

    @Test
    void thisProcessReportsWhatItsEnvironmentPreloaded() {
        String preload = System.getenv().getOrDefault("LD_PRELOAD", "");
        String tunables = System.getenv().getOrDefault("GLIBC_TUNABLES", "");
        String glibc = tunables.matches("(.*:)?glibc\\.malloc\\.hugetlb=[12](:.*)?") ? "glibc malloc (huge pages)" : "glibc malloc";
        assertEquals(preload.contains("libjemalloc") ? "jemalloc" : glibc, Devices.allocator());
    }

    @Test
    void tf32IsOnOnlyForTheExactValueLibtorchAccepts() {
        assertEquals(true, Devices.tf32In("1"));
        // c10::utils::check_env takes "1" and "0" only; anything else is ignored (libtorch warns)
        for (String off : new String[] {null, "", "0", "true", "yes", "on", "ON", " 1", "1 ", "y", "2"}) {
            assertEquals(false, Devices.tf32In(off), String.valueOf(off));
        }
    }

    @Test
    void autoOnACudaLibtorchWithoutACountedGpuWarnsAndGpuRefusesWithTheSameLine() {
        String line = Devices.noGpuOnCudaBuild("cu124");
        assertTrue(line.contains("cu124") && line.contains("libcudart") && line.contains("LD_LIBRARY_PATH")
                && line.contains("run.device=cpu"), line);
        Devices.Choice auto = Devices.choose(Config.Device.AUTO, true, 0, () -> line);
        assertEquals(Device.cpu(), auto.device());
        assertNotNull(auto.warning(), "a CUDA libtorch falling back to the CPU is said out loud");
        assertTrue(auto.warning().startsWith(line), auto.warning());
        UserError gpu = assertThrows(UserError.class, () -> Devices.choose(Config.Device.GPU, true, 0, () -> line));
        assertEquals(line, gpu.getMessage());

        assertEquals(new Devices.Choice(Device.gpu(0), null), Devices.choose(Config.Device.AUTO, true, 2, () -> line));
        assertEquals(new Devices.Choice(Device.cpu(), null), Devices.choose(Config.Device.AUTO, false, 0, () -> line),
                "the CPU build on a CPU machine: nothing to warn about");
        assertEquals(new Devices.Choice(Device.cpu(), null), Devices.choose(Config.Device.CPU, true, 1, () -> line));
        UserError cpuBuild = assertThrows(UserError.class, () -> Devices.choose(Config.Device.GPU, false, 0, () -> line));
        assertTrue(cpuBuild.getMessage().contains("CPU build") && cpuBuild.getMessage().contains("-Pcuda"),
                cpuBuild.getMessage());
    }

    @Test
    void theFlavourAndItsCudaVersionAreReadFromWhatDjlLoaded() {
        assertEquals("cu124", Devices.flavourIn("/root/.djl.ai/pytorch/2.5.1-20241113-cu124-linux-x86_64"));
        assertEquals("cpu", Devices.flavourIn("/root/.djl.ai/pytorch/2.5.1-20241113-cpu-precxx11-linux-x86_64"));
        assertEquals(null, Devices.flavourIn("/root/gpu-stage/kit/libtorch"));
        assertEquals("12.4", Devices.cudaVersionOf("cu124"));
        assertEquals("11.8", Devices.cudaVersionOf("cu118-precxx11"));
        assertEquals("none", Devices.cudaVersionOf("cpu"));
        Devices.Libtorch here = Devices.libtorch(); // this machine: the CPU build from the jar
        assertEquals("cpu", here.flavour());
        assertEquals("none", here.cudaVersion());
        assertEquals(0, here.gpus());
    }
}
