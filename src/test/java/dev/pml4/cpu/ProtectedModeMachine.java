package dev.pml4.cpu;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pml4.machine.BootState;
import dev.pml4.machine.EntryMode;
import dev.pml4.machine.FlatImage;
import dev.pml4.machine.Machine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A machine entered the way a Multiboot loader enters a kernel (32-bit protected mode, paging off,
 * EAX = magic, EBX = info), built by hand for the processor's tests: a NASM source is assembled to a
 * flat binary at 0x100000, and a GDT with the segments below is laid out at {@link #GDT}. No loader
 * is involved: this tests the processor, and the Multiboot loaders come with their own tests.
 *
 * <pre>
 *   0x08 32-bit code, DPL 0      0x10 32-bit data, DPL 0      0x18 64-bit code, DPL 0
 *   0x20 data, base 0x200000     0x28 16-bit data (B = 0)     0x30 32-bit code, not present
 *   0x38 32-bit code, DPL 3      0x40 32-bit data, DPL 3      0x48 data, not present
 *   0x50 call gate (type 0xC)    0x58 64-bit code, DPL 3
 * </pre>
 */
final class ProtectedModeMachine implements AutoCloseable {
    static final long LOAD = 0x100000;
    static final long GDT = 0x7000;
    static final long STACK = 0x90000;
    static final int MAGIC = 0x2badb002;
    static final int INFO = 0x9000;
    static final long[] DESCRIPTORS = {
            0,
            0x00cf9a000000ffffL, // 0x08 code32
            0x00cf92000000ffffL, // 0x10 data32
            0x00af9a000000ffffL, // 0x18 code64
            0x00cf92200000ffffL, // 0x20 data, base 0x200000
            0x000f92000000ffffL, // 0x28 16-bit data
            0x00cf1a000000ffffL, // 0x30 code32, P = 0
            0x00cffa000000ffffL, // 0x38 code32, DPL 3
            0x00cff2000000ffffL, // 0x40 data32, DPL 3
            0x00cf12000000ffffL, // 0x48 data, P = 0
            0x00008c0000080000L, // 0x50 call gate
            0x00affa000000ffffL, // 0x58 code64, DPL 3
    };

    final Machine machine;
    final ByteArrayOutputStream serial = new ByteArrayOutputStream();
    final List<String> warnings = new ArrayList<>();
    private StringWriter trace;

    private ProtectedModeMachine(byte[] image) throws Exception {
        machine = new Machine(Machine.Config.defaults(serial).withWarnings(warnings::add).withInstructionLimit(5_000_000));
        var memory = machine.memory();
        memory.writeBytes(LOAD, image);
        for (int i = 0; i < DESCRIPTORS.length; i++) {
            memory.write64(GDT + 8L * i, DESCRIPTORS[i]);
        }
        var state = new BootState(LOAD, STACK, 0, 2, ControlRegisters.CR0_PE | ControlRegisters.CR0_ET, 0, 0, 0,
                GDT, 8 * DESCRIPTORS.length - 1, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10,
                LOAD, LOAD + image.length, LOAD + image.length, MAGIC, INFO, EntryMode.PROTECTED_32);
        machine.enter(state, FlatImage.of("test.bin", image, LOAD, LOAD));
    }

    /** Assembles {@code source} (NASM, {@code bits 32} and {@code org 0x100000} prepended). */
    static ProtectedModeMachine of(String source) throws Exception {
        assumeTrue(available(), "nasm is needed for this test");
        Path dir = Files.createTempDirectory("pml4-pm");
        try {
            Files.writeString(dir.resolve("k.asm"), "bits 32\norg 0x100000\n" + source);
            Process p = new ProcessBuilder("nasm", "-f", "bin", "-o", "k.bin", "k.asm").directory(dir.toFile())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("nasm failed: " + out);
            }
            return new ProtectedModeMachine(Files.readAllBytes(dir.resolve("k.bin")));
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    private static boolean available() {
        try {
            Process p = new ProcessBuilder("nasm", "-v").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    ProtectedModeMachine traced(dev.pml4.trace.TraceOptions.Format format) {
        trace = new StringWriter();
        machine.trace(dev.pml4.trace.TraceOptions.all(format), trace);
        return this;
    }

    String trace() {
        return trace.toString();
    }

    Machine.RunResult run() {
        return machine.run();
    }

    String serial() {
        return serial.toString(StandardCharsets.ISO_8859_1);
    }

    Cpu cpu() {
        return machine.cpu();
    }

    long reg(dev.pml4.ffi.unicorn.X86Reg r) {
        return machine.engine().readRegister(r);
    }

    @Override
    public void close() {
        machine.close();
    }
}
