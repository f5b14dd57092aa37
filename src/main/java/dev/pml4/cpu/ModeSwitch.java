package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.DescriptorRegister;
import dev.pml4.ffi.unicorn.Protection;
import dev.pml4.ffi.unicorn.UcError;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.ffi.unicorn.X86Reg;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Puts the engine's code segment (and stack segment) into the shape of a guest segment: the one way
 * to change the engine's code mode between 64-bit and compatibility mode (spikes/modes REPORT.md,
 * DESIGN.md fact 14). Writing CS from the host only stores a selector in a UC_MODE_64 engine; only
 * a far transfer that QEMU itself executes loads a descriptor. So the switch runs a two-instruction
 * trampoline in the engine, through a private GDT that pml4 lays out for the occasion:
 *
 * <pre>
 *   8E D1      mov ss, cx          ; CX = 0x10: a copy of the guest's stack segment (its B flag
 *                                  ;   decides between a 16- and a 32-bit stack in 32-bit code)
 *   2E FF 28   jmp far cs:[rax]    ; RAX -> m16:32 = target offset : 0x08, a copy of the guest's
 *                                  ;   code segment. CS, whose base is 0, and not DS, whose base the
 *                                  ;   guest may have moved. Both decode alike in 64-bit and 32-bit code
 * </pre>
 *
 * The copies have DPL 0 and the accessed flag set: the engine always runs at its own CPL 0 (Java
 * keeps the guest's CPL), and QEMU then has nothing to write into the GDT. The page lives at a
 * linear address the engine has nothing mapped at, only while the trampoline runs; GDTR, RAX and RCX
 * are put back afterwards, and the engine's CS and SS selectors are set to the guest's (a host write
 * of CS or SS in UC_MODE_64 only stores the selector: the hidden parts stay as the trampoline loaded
 * them). The trampoline stops at the first instruction of the target, before it runs.
 *
 * <p>Java has checked the transfer before this runs (the engine must never raise #GP, DESIGN.md
 * fact 1); the only descriptors QEMU sees here are pml4's own copies.
 */
final class ModeSwitch {
    private static final int GDT_OFFSET = 0x80;
    private static final int POINTER_OFFSET = 0x40;
    private static final int CODE_SELECTOR = 0x08;
    private static final int STACK_SELECTOR = 0x10;
    private static final byte[] TRAMPOLINE = {(byte) 0x8e, (byte) 0xd1, 0x2e, (byte) 0xff, 0x28};
    /** A flat 32-bit writable data segment, DPL 0, present, accessed, 4 GiB (SDM 3.4.5). */
    static final long FLAT_DATA_32 = 0x00cf93000000ffffL;
    /** A flat 32-bit code segment, DPL 0, present, accessed, 4 GiB. */
    static final long FLAT_CODE_32 = 0x00cf9b000000ffffL;
    /** A 64-bit code segment (L = 1), DPL 0, present, accessed: boot protocol 1's CS. */
    static final long FLAT_CODE_64 = 0x00af9b000000ffffL;

    private final Cpu cpu;
    private final MemorySegment page = Arena.ofAuto().allocate(0x1000, 0x1000);
    /** The linear address the trampoline runs at during a switch, or -1: the code hook's signal. */
    private long active = -1;
    /** Where the trampoline stops: the target's first instruction. */
    private long target;
    private boolean engineCode64 = true;
    private long switches;

    ModeSwitch(Cpu cpu) {
        this.cpu = cpu;
        MemorySegment.copy(TRAMPOLINE, 0, page, ValueLayout.JAVA_BYTE, 0, TRAMPOLINE.length);
    }

    /** True while the trampoline runs: the hooks let it through without counting or tracing it. */
    /** Whether {@code linear} lies on the trampoline's page while it runs. */
    boolean onTrampoline(long linear) {
        return active >= 0 && (linear & ~0xfffL) == active;
    }

    boolean active() {
        return active >= 0;
    }

    /** The code hook during a switch: true when the engine has reached the target and must stop. */
    boolean reachedTarget(long rip) {
        return rip == target;
    }

    /** Whether the engine runs 64-bit code now (a fresh UC_MODE_64 engine does). */
    boolean engineCode64() {
        return engineCode64;
    }

    long switches() {
        return switches;
    }

    /**
     * Loads the engine's CS with the shape of {@code code} and its SS with that of {@code stack}
     * (for a 64-bit target any writable data segment will do: 64-bit mode ignores SS's base, limit
     * and B), and leaves RIP at {@code targetOffset}, no instruction of the target run.
     *
     * @param code         the guest's code-segment descriptor (base 0: checked by the caller)
     * @param stack        the guest's stack-segment descriptor, or {@link #FLAT_DATA_32}
     * @param targetOffset where the guest continues (EIP or RIP)
     * @param guestCs      the selector the guest sees in CS afterwards
     * @param guestSs      the selector the guest sees in SS afterwards
     */
    void load(long code, long stack, long targetOffset, int guestCs, int guestSs) {
        cpu.requireEveryInstruction(); // the trampoline's run ends in the code hook of its target
        Unicorn engine = cpu.engine;
        long at = freePage();
        long pointer = at + POINTER_OFFSET;
        long gdt = at + GDT_OFFSET;
        page.set(ValueLayout.JAVA_INT_UNALIGNED, POINTER_OFFSET, (int) targetOffset);
        page.set(ValueLayout.JAVA_SHORT_UNALIGNED, POINTER_OFFSET + 4, (short) CODE_SELECTOR);
        page.set(ValueLayout.JAVA_LONG_UNALIGNED, GDT_OFFSET, 0L);
        page.set(ValueLayout.JAVA_LONG_UNALIGNED, GDT_OFFSET + 8, privileged(code));
        page.set(ValueLayout.JAVA_LONG_UNALIGNED, GDT_OFFSET + 16, privileged(stack | 1L << 41 | 1L << 44));

        DescriptorRegister gdtr = engine.readDescriptorRegister(X86Reg.GDTR);
        long rax = engine.readRegister(X86Reg.RAX);
        long rcx = engine.readRegister(X86Reg.RCX);
        cpu.mmu.mappings().mapper().mapOwn(at, page, Protection.ALL);
        int err;
        try {
            engine.writeDescriptorRegister(X86Reg.GDTR, new DescriptorRegister(0, gdt, 23, 0));
            engine.writeRegister(X86Reg.RAX, pointer);
            engine.writeRegister(X86Reg.RCX, STACK_SELECTOR);
            boolean targetLongMode = (code >>> 53 & 1) != 0;
            target = targetLongMode ? targetOffset : targetOffset & 0xffffffffL;
            active = at;
            cpu.refreshUnusual();
            err = engine.start(at, -1L, 0, 0);
        } finally {
            active = -1;
            cpu.refreshUnusual();
            engine.writeDescriptorRegister(X86Reg.GDTR, gdtr);
            engine.writeRegister(X86Reg.RAX, rax);
            engine.writeRegister(X86Reg.RCX, rcx);
            cpu.mmu.mappings().mapper().unmapOwn(at); // with what was translated from it
        }
        long rip = engine.readRegister(X86Reg.RIP);
        // The engine stops at the target either in the code hook (OK) or when translating it
        // fetches a page the engine does not hold (UNMAPPED) or holds without execute (PROT:
        // the translation guard keeps execute in Java, so a page mapped for data is one).
        if (rip != target || (err != UcError.OK && err != UcError.FETCH_UNMAPPED && err != UcError.FETCH_PROT)) {
            throw new IllegalStateException(String.format("the engine's mode switch to 0x%x stopped at 0x%x: %s",
                    target, rip, Unicorn.errorText(err)));
        }
        engine.writeRegister(X86Reg.CS, guestCs);
        engine.writeRegister(X86Reg.SS, guestSs);
        engineCode64 = (code >>> 53 & 1) != 0;
        switches++;
    }

    /** DPL 0, present, accessed: what the engine's CPL 0 may load without a fault. */
    private static long privileged(long descriptor) {
        return (descriptor & ~(3L << 45)) | 1L << 47 | SegmentDescriptor.ACCESSED;
    }

    /** A page below 2 GiB (the trampoline's addresses are 32-bit) where the engine has nothing mapped. */
    private long freePage() {
        for (long at = 0x7fff_f000L; at > 0; at -= 0x10_0000L) {
            if (cpu.mmu.mappings().chunkAt(at) == null) {
                return at;
            }
        }
        throw new IllegalStateException("no free page below 2 GiB for the mode-switch trampoline");
    }
}
