package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.X86Reg;
import dev.pml4.machine.BootState;
import dev.pml4.machine.EntryMode;

/**
 * The guest's code segment and the engine following it. Far transfers, event deliveries, SYSCALL
 * and SYSRET (all emulated in Java) tell it the code segment they load; it keeps the code size the
 * code hook classifies by, and decides whether the engine must run {@link ModeSwitch}'s trampoline:
 * when the code changes between 64-bit and 32-bit, or in 32-bit code when the stack's shape (B
 * flag, base) changes. The trampoline runs between two runs of the engine, never inside a hook.
 */
final class CodeSegments {
    private final Cpu cpu;
    /** A code-segment change the engine must follow before it runs again, or null. */
    private Pending pending;
    /** The stack descriptor the engine's SS was last loaded from (its B flag: ESP or SP in 32-bit code). */
    private long engineStack = ModeSwitch.FLAT_DATA_32;
    /** The guest's code-segment descriptor as the current mode reads it. */
    private long codeShape = ModeSwitch.FLAT_CODE_64;

    private record Pending(long code, long stack, long rip) {
    }

    CodeSegments(Cpu cpu) {
        this.cpu = cpu;
    }

    /** After the rest of {@link Cpu#reset}: 64-bit code, or the protected-mode entry. */
    void reset(BootState boot) {
        pending = null;
        codeShape = ModeSwitch.FLAT_CODE_64;
        if (boot.entryMode() == EntryMode.PROTECTED_32) {
            enterProtectedMode(boot);
        }
    }

    /**
     * The Multiboot entry state (Multiboot 0.6.96 section 3.2, Multiboot2 section 3.3): 32-bit
     * protected mode with paging off, EAX and EBX from the loader, IF and VM clear. The engine runs
     * it as compatibility mode (DESIGN.md fact 14); the guest sees EFER.LMA = 0 in Java's registers.
     * A20 is always on: pml4 has no A20 gate.
     */
    private void enterProtectedMode(BootState boot) {
        var engine = cpu.engine;
        engine.writeRegister(X86Reg.RAX, boot.rax() & 0xffffffffL);
        engine.writeRegister(X86Reg.RBX, boot.rbx() & 0xffffffffL);
        engine.writeRegister(X86Reg.RFLAGS, (boot.rflags() & ~(Cpu.RFLAGS_IF | InterruptDelivery.RFLAGS_VM)) | 2);
        SegmentDescriptor code;
        SegmentDescriptor stack;
        try {
            code = SegmentDescriptor.read(cpu, boot.cs(), 0, "the boot CS");
            stack = SegmentDescriptor.read(cpu, boot.ss(), 0, "the boot SS");
        } catch (ArchitecturalException e) {
            throw new IllegalStateException("the boot GDT does not hold the entry segments: " + e.reason(), e);
        }
        if (!code.isCode() || code.longMode() || !code.big() || code.base() != 0 || !stack.isWritableData()) {
            throw new IllegalStateException(String.format("the boot CS 0x%x (%s, base 0x%x) and SS 0x%x (%s) are not flat 32-bit code and data",
                    boot.cs(), code.kind(), code.base(), boot.ss(), stack.kind()));
        }
        long shape = stack.raw() | SegmentDescriptor.ACCESSED; // as a load of SS leaves it (SegmentLoads)
        cpu.modeSwitch.load(code.raw(), shape, boot.rip(), boot.cs(), boot.ss());
        engineStack = shape;
        cpu.stackShape = shape;
        codeShape = code.raw();
        cpu.setCodeSize(true);
    }

    /**
     * A far transfer (or an event delivery) Java emulated puts {@code code} in CS and continues at
     * {@code rip}; {@link Cpu#cs} and {@link Cpu#ss} already hold the new selectors. When the code
     * size changes, or the stack's shape does in 32-bit code, the engine must run the trampoline:
     * it is stopped before the instruction runs and switched before it runs again. Otherwise RIP is
     * written, which ends the translation block (DESIGN.md fact 4).
     *
     * @param stack the stack descriptor that governs 32-bit code afterwards ({@link ModeSwitch#FLAT_DATA_32} for 64-bit code)
     */
    void load(SegmentDescriptor code, long stack, long rip) {
        String before = cpu.processorMode();
        boolean bits32 = !code.longMode();
        cpu.setCodeSize(bits32);
        codeShape = code.raw();
        if (bits32 == !cpu.modeSwitch.engineCode64() && (!bits32 || stack == engineStack) && pending == null) {
            cpu.engine.writeRegister(X86Reg.RIP, rip);
            cpu.engine.writeRegister(X86Reg.CS, cpu.cs); // only stores the selector (REPORT.md Q1a), for PUSH CS
        } else {
            pending = new Pending(code.raw(), stack, rip);
            cpu.engine.stop();
        }
        cpu.modeChanged(before);
    }

    /** SS changed shape in 32-bit code: the engine reloads its own SS (and CS, unchanged) before {@code next}. */
    void reloadStack(long next) {
        load(new SegmentDescriptor(cpu.cs, codeShape), cpu.stackShape, next);
    }

    /** Before the engine runs again: the trampoline a far transfer asked for. */
    void followIfPending() {
        if (pending == null) {
            return;
        }
        Pending p = pending;
        pending = null;
        cpu.modeSwitch.load(p.code(), p.stack(), p.rip(), cpu.cs, cpu.ss);
        engineStack = p.stack();
        cpu.codeMappingsChanged();
    }
}
