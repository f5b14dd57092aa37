package dev.pml4.machine;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real tools, real files: a higher-half kernel assembled by NASM and linked by GNU ld the way
 * guest kernels are, then parsed and loaded. Skipped where nasm or ld is missing.
 */
class NasmKernelTest {
    static final long KERNEL_VMA = 0xffff_ffff_8000_0000L;

    static final String KERNEL = """
            ; A tiny higher-half kernel: text, data and bss, local labels and an EQU.
            KERNEL_VMA equ 0xffffffff80000000
            bits 64
            section .text
            global _start
            _start:
                mov rsp, stack_top
                mov rax, [rdi]          ; the boot info's magic
                mov [boot_magic], rax
            .hang:
                hlt
                jmp .hang
            handler:
                ret
            section .data
            boot_magic: dq 0
            greeting: db "hello", 0
            section .bss
            alignb 16
            stack: resb 4096
            stack_top:
            """;

    static final String LINKER_SCRIPT = """
            ENTRY(_start)
            KERNEL_VMA = 0xffffffff80000000;
            SECTIONS {
              . = KERNEL_VMA + 0x100000;
              .text : AT(ADDR(.text) - KERNEL_VMA) { *(.text) }
              . = ALIGN(4096);
              .data : AT(ADDR(.data) - KERNEL_VMA) { *(.data) }
              .bss : AT(ADDR(.bss) - KERNEL_VMA) { *(.bss) }
            }
            """;

    @TempDir
    Path dir;

    @Test
    void assemblesLinksParsesAndLoadsAHigherHalfKernel() throws Exception {
        assumeTrue(available("nasm", "-v") && available("ld", "-v"), "nasm and ld are needed for this test");
        Files.writeString(dir.resolve("kernel.asm"), KERNEL);
        Files.writeString(dir.resolve("link.ld"), LINKER_SCRIPT);
        run("nasm", "-f", "elf64", "-o", "kernel.o", "kernel.asm");
        run("ld", "-z", "max-page-size=0x1000", "-T", "link.ld", "-o", "kernel.elf", "kernel.o");

        KernelImage image = KernelImages.read(dir.resolve("kernel.elf"), OptionalLong.empty(), OptionalLong.empty());
        ElfImage elf = assertInstanceOf(ElfImage.class, image);
        SymbolTable symbols = elf.symbols();
        assertEquals(OptionalLong.of(elf.entry()), symbols.lookup("_start"));
        assertEquals(KERNEL_VMA + 0x100000, elf.entry());
        assertEquals(Optional.of("_start"), symbols.describe(elf.entry()));
        long hang = symbols.lookup("_start.hang").orElseThrow();
        assertEquals(Optional.of("_start.hang+0x1"), symbols.describe(hang + 1));
        assertEquals(OptionalLong.empty(), symbols.lookup("KERNEL_VMA"), "EQU constants are not places");

        // ld put text in one PT_LOAD and data + bss in another, each AT() its physical address.
        List<LoadSegment> segments = elf.segments();
        assertFalse(segments.isEmpty());
        for (LoadSegment s : segments) {
            assertEquals(KERNEL_VMA, s.virtualAddress() - s.physicalAddress(), image.describe(s));
        }
        long stackTop = symbols.lookup("stack_top").orElseThrow();

        try (PhysicalMemory ram = new PhysicalMemory(BootProtocol.DEFAULT_RAM_SIZE)) {
            BootState state = BootLoader.load(ram, image, "quiet");
            assertEquals(elf.entry(), state.rip());
            assertEquals(0x100000, state.kernelStart());
            assertEquals(stackTop - KERNEL_VMA, state.kernelEnd(), "the bss ends the kernel");
            // mov rsp, imm64 is REX.W B8+r: 48 BC, then stack_top's address, read through the tables.
            byte[] first = BootLoaderTest.readVirtual(ram, state.rip(), 10);
            assertEquals((byte) 0x48, first[0]);
            assertEquals((byte) 0xbc, first[1]);
            long imm = 0;
            for (int i = 9; i >= 2; i--) {
                imm = imm << 8 | (first[i] & 0xff);
            }
            assertEquals(stackTop, imm);
            assertArrayEquals("hello\0".getBytes(),
                    BootLoaderTest.readVirtual(ram, symbols.lookup("greeting").orElseThrow(), 6));
        }
    }

    @Test
    void assemblesAndLoadsAFlatBinary() throws Exception {
        assumeTrue(available("nasm", "-v"), "nasm is needed for this test");
        Files.writeString(dir.resolve("flat.asm"), "bits 64\norg 0x100000\nhlt\njmp $-1\n");
        run("nasm", "-f", "bin", "-o", "flat.bin", "flat.asm");
        KernelImage image = KernelImages.read(dir.resolve("flat.bin"), OptionalLong.empty(), OptionalLong.empty());
        assertInstanceOf(FlatImage.class, image);
        try (PhysicalMemory ram = new PhysicalMemory(BootProtocol.DEFAULT_RAM_SIZE)) {
            BootState state = BootLoader.load(ram, image, null);
            assertEquals(0x100000, state.rip());
            assertArrayEquals(new byte[] {(byte) 0xf4, (byte) 0xeb, (byte) 0xfd}, ram.readBytes(0x100000, 3));
        }
    }

    private static boolean available(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " timed out");
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + output);
    }
}
