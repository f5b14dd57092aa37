package dev.pml4.api;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/** The Java API boots Multiboot kernels as {@code pml4 run} does: --boot, --module and --cmdline reach the loader. */
class MultibootApiTest {
    @Test
    void aMultibootKernelGetsItsModuleAndCommandLineAndLeavesItsScreen(@TempDir Path dir) throws Exception {
        Path module = dir.resolve("initrd");
        Files.writeString(module, "module bytes");
        try (Guest guest = Guest.builder(Path.of("guest/build/mb1_elf32.elf"))
                .options("--boot", "multiboot", "--module", module + "=initrd quiet", "--cmdline", "console=ttyS0")
                .build()) {
            Outcome outcome = guest.run();
            assertEquals(1, outcome.status(), outcome.reason()); // the kernel wrote 0 to port 0xF4
            assertTrue(guest.serial().contains("cmdline     \"console=ttyS0\"\n"), guest.serial());
            assertTrue(guest.serial().contains("mods        1\n"), guest.serial());
            assertTrue(guest.serial().endsWith("mb1_elf32: now in 64-bit mode, paging on\n"), guest.serial());
            assertTrue(guest.state().vgaScreen().startsWith("mb1_elf32"), guest.state().vgaScreen());
        }
    }

    @Test
    void anUnknownBootProtocolIsRefusedByName() {
        var e = assertThrows(SetupException.class,
                () -> Guest.builder(Path.of("guest/build/mb1_elf32.elf")).options("--boot", "grub").build());
        assertTrue(e.getMessage().contains("--boot"), e.getMessage());
    }
}
