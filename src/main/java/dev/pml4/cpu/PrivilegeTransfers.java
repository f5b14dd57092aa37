package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.X86Reg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The instructions that change the privilege level the guest sees: IRETQ, SYSCALL and SYSRET
 * (SDM Vol. 2A IRET, Vol. 2B SYSCALL, SYSRET), and the IOPL-governed ones at CPL 3 (CLI, STI,
 * POPF). The engine itself always runs at its CPL 0; these keep {@link Cpu#cpl}, CS and SS.
 */
final class PrivilegeTransfers {
    // RFLAGS (SDM Vol. 1 3.4.3).
    private static final long IOPL_SHIFT = 12;
    private static final long RFLAGS_IOPL = 3L << IOPL_SHIFT;
    private static final long RFLAGS_IF = 1L << 9;
    private static final long RFLAGS_NT = 1L << 14;
    private static final long RFLAGS_RF = 1L << 16;
    private static final long RFLAGS_VM = 1L << 17;
    /** Bits IRET and POPF may load: CF PF AF ZF SF TF IF DF OF IOPL NT RF AC VIF VIP ID. */
    private static final long RFLAGS_LOADABLE = 0x3f7fd5L;
    /** SYSRET loads RFLAGS from R11 ANDed with this and ORed with 2 (SDM Vol. 2B SYSRET). */
    private static final long SYSRET_RFLAGS_MASK = 0x3c7fd7L;

    static final int IA32_STAR = 0xc0000081;
    static final int IA32_LSTAR = 0xc0000082;
    static final int IA32_FMASK = 0xc0000084;

    private final Cpu cpu;
    private final SystemInstructions system;

    PrivilegeTransfers(Cpu cpu, SystemInstructions system) {
        this.cpu = cpu;
        this.system = system;
    }

    private long reg(X86Reg r) {
        return cpu.engine.readRegister(r);
    }

    private void set(X86Reg r, long v) {
        cpu.engine.writeRegister(r, v);
    }

    int iopl() {
        return (int) ((reg(X86Reg.RFLAGS) & RFLAGS_IOPL) >>> IOPL_SHIFT);
    }

    /** IRETQ (64-bit operand size) in IA-32e mode: pops RIP, CS, RFLAGS, RSP, SS. */
    void iretq(long rip) {
        long rflags = reg(X86Reg.RFLAGS);
        if ((rflags & RFLAGS_NT) != 0) {
            throw ArchitecturalException.gp("IRETQ with RFLAGS.NT = 1 (a task return, which IA-32e mode does not have)");
        }
        long rsp = reg(X86Reg.RSP);
        ByteBuffer frame = ByteBuffer.wrap(cpu.readVirtual(rsp, 40)).order(ByteOrder.LITTLE_ENDIAN);
        long newRip = frame.getLong(0);
        int newCs = (int) frame.getLong(8) & 0xffff;
        long newFlags = frame.getLong(16);
        long newRsp = frame.getLong(24);
        int newSs = (int) frame.getLong(32) & 0xffff;

        int rpl = newCs & 3;
        if ((newCs & ~3) == 0) {
            throw ArchitecturalException.gp("IRETQ to a null CS selector");
        }
        if (rpl < cpu.cpl) {
            throw new ArchitecturalException(ArchitecturalException.GP, newCs & ~3, 0, String.format(
                    "IRETQ to CS 0x%x, whose RPL %d is below CPL %d", newCs, rpl, cpu.cpl));
        }
        SegmentDescriptor code = SegmentDescriptor.read(cpu, newCs, 0, "IRETQ's CS");
        if (!code.isCode() || (!code.conforming() && code.dpl() != rpl) || (code.conforming() && code.dpl() > rpl)) {
            throw new ArchitecturalException(ArchitecturalException.GP, newCs & ~3, 0, String.format(
                    "IRETQ to CS 0x%x, which is not a code segment of DPL %d", newCs, rpl));
        }
        if (!code.present()) {
            throw new ArchitecturalException(ArchitecturalException.NP, newCs & ~3, 0, String.format("IRETQ to CS 0x%x, which is not present", newCs));
        }
        if (!code.longMode()) {
            throw new ArchitecturalException(ArchitecturalException.GP, newCs & ~3, 0, String.format(
                    "IRETQ to CS 0x%x, a compatibility-mode segment (L = 0): pml4 runs 64-bit code only", newCs));
        }
        if (rpl > cpu.cpl || (newSs & ~3) != 0) {
            // Returning outward needs a usable stack segment of the new privilege (SDM IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL).
            if ((newSs & ~3) == 0) {
                if (rpl == 3) {
                    throw ArchitecturalException.gp("IRETQ to CPL 3 with a null SS selector");
                }
            } else {
                if ((newSs & 3) != rpl) {
                    throw new ArchitecturalException(ArchitecturalException.GP, newSs & ~3, 0, String.format(
                            "IRETQ with SS 0x%x whose RPL differs from CS RPL %d", newSs, rpl));
                }
                SegmentDescriptor stack = SegmentDescriptor.read(cpu, newSs, 0, "IRETQ's SS");
                if (!stack.isWritableData() || stack.dpl() != rpl) {
                    throw new ArchitecturalException(ArchitecturalException.GP, newSs & ~3, 0, String.format(
                            "IRETQ with SS 0x%x, which is not a writable data segment of DPL %d", newSs, rpl));
                }
                if (!stack.present()) {
                    throw new ArchitecturalException(ArchitecturalException.SS, newSs & ~3, 0, String.format("IRETQ with SS 0x%x, which is not present", newSs));
                }
            }
        }
        if (!SystemInstructions.canonical(newRip)) {
            throw ArchitecturalException.gp(String.format("IRETQ to the non-canonical RIP 0x%x", newRip));
        }
        long loadable = RFLAGS_LOADABLE & ~RFLAGS_VM;
        if (cpu.cpl > 0) {
            loadable &= ~RFLAGS_IOPL; // only CPL 0 changes IOPL
            if (cpu.cpl > iopl()) {
                loadable &= ~RFLAGS_IF; // and IF only when CPL <= IOPL
            }
        }
        long flags = (rflags & ~loadable) | (newFlags & loadable) | 2;
        int oldCpl = cpu.cpl;
        set(X86Reg.RFLAGS, flags);
        set(X86Reg.RSP, newRsp);
        set(X86Reg.RIP, newRip);
        cpu.cs = newCs;
        cpu.ss = newSs;
        cpu.setCpl(rpl, oldCpl);
    }

    /** SYSCALL in 64-bit mode (SDM Vol. 2B SYSCALL). */
    void syscall(long next) {
        if ((cpu.control.efer() & ControlRegisters.EFER_SCE) == 0) {
            throw ArchitecturalException.ud("SYSCALL with EFER.SCE = 0");
        }
        long star = system.rdmsr(IA32_STAR);
        long rflags = reg(X86Reg.RFLAGS);
        set(X86Reg.RCX, next);
        set(X86Reg.R11, rflags & ~RFLAGS_RF);
        set(X86Reg.RFLAGS, (rflags & ~system.rdmsr(IA32_FMASK) & ~RFLAGS_RF) | 2);
        set(X86Reg.RIP, system.rdmsr(IA32_LSTAR));
        int selector = (int) (star >>> 32) & 0xfffc;
        int oldCpl = cpu.cpl;
        cpu.cs = selector;
        cpu.ss = selector + 8;
        cpu.setCpl(0, oldCpl);
    }

    /** SYSRET with REX.W: back to 64-bit code at CPL 3 (SDM Vol. 2B SYSRET). */
    void sysret(boolean rexW) {
        if ((cpu.control.efer() & ControlRegisters.EFER_SCE) == 0) {
            throw ArchitecturalException.ud("SYSRET with EFER.SCE = 0");
        }
        if (cpu.cpl != 0) {
            throw ArchitecturalException.gp("SYSRET at CPL " + cpu.cpl);
        }
        long rcx = reg(X86Reg.RCX);
        if (!rexW) {
            throw ArchitecturalException.gp("SYSRET without REX.W returns to compatibility mode, which pml4 does not model (use SYSRETQ / o64 sysret)");
        }
        if (!SystemInstructions.canonical(rcx)) {
            throw ArchitecturalException.gp(String.format("SYSRET to the non-canonical RCX 0x%x", rcx));
        }
        long star = system.rdmsr(IA32_STAR);
        int base = (int) (star >>> 48) & 0xffff;
        set(X86Reg.RFLAGS, (reg(X86Reg.R11) & SYSRET_RFLAGS_MASK) | 2);
        set(X86Reg.RIP, rcx);
        int oldCpl = cpu.cpl;
        cpu.cs = ((base + 16) & 0xfffc) | 3;
        cpu.ss = ((base + 8) & 0xfffc) | 3;
        cpu.setCpl(3, oldCpl);
    }

    /** CLI and STI at CPL 3: allowed when CPL <= IOPL, else #GP(0) (SDM Vol. 2A CLI). */
    void requireIopl(String what) {
        if (cpu.cpl > iopl()) {
            throw ArchitecturalException.gp(what + " at CPL " + cpu.cpl + " with IOPL " + iopl());
        }
    }

    /**
     * POPF at CPL 3: IOPL never changes, IF only when CPL <= IOPL, and neither faults (SDM Vol. 2B
     * POPF). The engine, at its own CPL 0, would change them, so it is done here.
     */
    void popfUser(long next, boolean operand16) {
        long rsp = reg(X86Reg.RSP);
        int size = operand16 ? 2 : 8;
        ByteBuffer b = ByteBuffer.wrap(cpu.readVirtual(rsp, size)).order(ByteOrder.LITTLE_ENDIAN);
        long value = operand16 ? b.getShort(0) & 0xffffL : b.getLong(0);
        long rflags = reg(X86Reg.RFLAGS);
        long loadable = (RFLAGS_LOADABLE & ~RFLAGS_IOPL & ~RFLAGS_RF & ~RFLAGS_VM) & ~(0x3L << 19); // VIF, VIP kept
        if (cpu.cpl > iopl()) {
            loadable &= ~RFLAGS_IF;
        }
        if (operand16) {
            loadable &= 0xffff;
        }
        set(X86Reg.RFLAGS, (rflags & ~loadable) | (value & loadable) | 2);
        set(X86Reg.RSP, rsp + size);
        set(X86Reg.RIP, next);
    }
}
