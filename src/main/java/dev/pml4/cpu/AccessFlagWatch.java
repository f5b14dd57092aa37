package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.X86Reg;
import dev.pml4.mmu.AccessMode;

/**
 * Makes a cleared RFLAGS.AC reach the engine's mappings. With CR4.SMAP = 1, a supervisor data
 * access to a user page is allowed only while AC = 1 (SDM Vol. 3A 4.6.1), and it is checked at
 * each access; but a page the engine mapped while AC was 1 would go on serving such accesses after
 * CLAC. Every instruction that can clear AC (CLAC, POPF, IRETQ, SYSRET, SYSCALL through FMASK)
 * passes through the code hook's sensitive-instruction path, which arms this watch; the hook of
 * the next instruction, before that instruction touches memory, looks at AC once and, when it went
 * from 1 to 0 at CPL 0, withdraws from the engine what CPL 0 may no longer do.
 *
 * <p>The other changes that narrow what the mappings allow are handled where they happen: the
 * CPL in {@code Cpu.setCpl}, CR0.WP, CR4.SMEP/SMAP and EFER.NXE by the control-register writes.
 */
final class AccessFlagWatch {
    private final Cpu cpu;
    private boolean armed;
    private boolean accessAllowed;

    AccessFlagWatch(Cpu cpu) {
        this.cpu = cpu;
    }

    /**
     * An instruction that may change AC is about to run. AC matters only under CR4.SMAP: without
     * it nothing is looked at (fast mode then need not look at the next instruction), and whether
     * the engine's mappings allow what AC = 1 allows is no longer known, so the next look that
     * matters (SMAP set later) withdraws them if AC is clear.
     */
    void arm() {
        if ((cpu.control.cr4() & ControlRegisters.CR4_SMAP) == 0) {
            accessAllowed = true;
            return;
        }
        armed = true;
    }

    /** Whether the next instruction boundary must look at AC (fast mode runs that instruction through the hook). */
    boolean armed() {
        return armed;
    }

    /** At the next instruction boundary. */
    void check() {
        if (!armed) {
            return;
        }
        armed = false;
        boolean ac = (cpu.engine.readRegister(X86Reg.RFLAGS) & Cpu.RFLAGS_AC) != 0;
        boolean smap = (cpu.control.cr4() & ControlRegisters.CR4_SMAP) != 0;
        if (accessAllowed && !ac && smap && cpu.cpl != 3) {
            cpu.mmu.restrictTo(AccessMode.SUPERVISOR, cpu.pagingState());
            cpu.codeMappingsChanged();
        }
        accessAllowed = ac;
    }
}
