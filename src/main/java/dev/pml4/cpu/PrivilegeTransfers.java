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
    static final int IA32_CSTAR = 0xc0000083;
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

    /**
     * IRET, IRETD and IRETQ (SDM Vol. 2A IRET), {@code width} bytes a slot. Pops RIP, CS and RFLAGS,
     * and RSP and SS too when it returns to an outer privilege level or began in 64-bit mode (IRET
     * from compatibility or protected mode at the same level pops three slots only). The target may
     * be 64-bit or 32-bit code: the engine follows through {@link CodeSegments#load}.
     */
    void iret(long rip, int width) {
        String what = width == 8 ? "IRETQ" : "IRETD";
        if (width == 2) {
            throw new NotModelledException("IRET with a 16-bit operand size");
        }
        boolean ia32e = (cpu.control.efer() & ControlRegisters.EFER_LMA) != 0;
        long rflags = reg(X86Reg.RFLAGS);
        if ((rflags & RFLAGS_NT) != 0) {
            if (ia32e) {
                throw ArchitecturalException.gp(what + " with RFLAGS.NT = 1 (a task return, which IA-32e mode does not have)");
            }
            throw new NotModelledException(what + " with RFLAGS.NT = 1: task returns are not modelled");
        }
        FarTransfers far = system.far();
        long sp = far.stackPointer();
        ByteBuffer frame = ByteBuffer.wrap(cpu.readVirtual(far.stackLinear(sp), 3 * width)).order(ByteOrder.LITTLE_ENDIAN);
        long newRip = FarTransfers.slot(frame, width, 0);
        int newCs = (int) FarTransfers.slot(frame, width, 1) & 0xffff;
        long newFlags = FarTransfers.slot(frame, width, 2);
        if (!ia32e && (newFlags & RFLAGS_VM) != 0 && cpu.cpl == 0) {
            throw new NotModelledException(what + " to virtual-8086 mode");
        }
        SegmentDescriptor code = far.returnTarget(newCs, what + "'s CS");
        int rpl = newCs & 3;
        boolean into64 = ia32e && code.longMode();
        boolean popsStack = rpl > cpu.cpl || (ia32e && !cpu.code32);
        long newRsp = sp + 3L * width;
        int newSs = cpu.ss;
        long stack = cpu.stackShape;
        if (popsStack) {
            ByteBuffer outer = ByteBuffer.wrap(cpu.readVirtual(far.stackLinear(sp + 3L * width), 2 * width)).order(ByteOrder.LITTLE_ENDIAN);
            newRsp = FarTransfers.slot(outer, width, 0);
            newSs = (int) FarTransfers.slot(outer, width, 1) & 0xffff;
            if (rpl > cpu.cpl || (newSs & ~3) != 0) {
                stack = far.outerStack(newSs, rpl, into64, what);
            } else {
                stack = ModeSwitch.FLAT_DATA_32; // a null SS at CPL 0 in 64-bit code (SDM 6.14.4)
            }
        }
        far.checkOffset(code, newRip, what);
        long loadable = RFLAGS_LOADABLE & ~RFLAGS_VM;
        if (cpu.cpl > 0) {
            loadable &= ~RFLAGS_IOPL; // only CPL 0 changes IOPL
            if (cpu.cpl > iopl()) {
                loadable &= ~RFLAGS_IF; // and IF only when CPL <= IOPL
            }
        }
        if (width == 4) {
            loadable &= 0xffffffffL;
        }
        long flags = (rflags & ~loadable) | (newFlags & loadable) | 2;
        set(X86Reg.RFLAGS, flags);
        cpu.ss = newSs;
        cpu.stackShape = stack;
        far.enter(newCs, code, newRip, rpl, stack, what);
        set(X86Reg.RSP, into64 ? newRsp : newRsp & 0xffffffffL);
    }

    /**
     * SYSCALL in 64-bit or compatibility mode (SDM Vol. 2B SYSCALL): to IA32_LSTAR, or IA32_CSTAR
     * from compatibility mode, in the flat 64-bit code segment STAR[47:32] names (SYSCALL loads
     * fixed descriptor values, it reads no GDT).
     */
    void syscall(long next) {
        if ((cpu.control.efer() & ControlRegisters.EFER_SCE) == 0 || (cpu.control.efer() & ControlRegisters.EFER_LMA) == 0) {
            throw ArchitecturalException.ud("SYSCALL with EFER.SCE = 0 or outside IA-32e mode");
        }
        long star = system.rdmsr(IA32_STAR);
        long rflags = reg(X86Reg.RFLAGS);
        set(X86Reg.RCX, next);
        set(X86Reg.R11, rflags & ~RFLAGS_RF);
        set(X86Reg.RFLAGS, (rflags & ~system.rdmsr(IA32_FMASK) & ~RFLAGS_RF) | 2);
        long target = system.rdmsr(cpu.code32 ? IA32_CSTAR : IA32_LSTAR);
        int selector = (int) (star >>> 32) & 0xfffc;
        int oldCpl = cpu.cpl;
        cpu.cs = selector;
        cpu.ss = selector + 8;
        cpu.stackShape = ModeSwitch.FLAT_DATA_32;
        cpu.codeSegments.load(new SegmentDescriptor(selector, ModeSwitch.FLAT_CODE_64), ModeSwitch.FLAT_DATA_32, target);
        cpu.setCpl(0, oldCpl);
    }

    /**
     * SYSRET (SDM Vol. 2B SYSRET): with REX.W to 64-bit code at STAR[63:48] + 16, without it to
     * 32-bit compatibility-mode code at STAR[63:48] (EIP = ECX), both at CPL 3 with flat segments.
     */
    void sysret(boolean rexW) {
        if ((cpu.control.efer() & ControlRegisters.EFER_SCE) == 0) {
            throw ArchitecturalException.ud("SYSRET with EFER.SCE = 0");
        }
        if (cpu.cpl != 0 || cpu.code32) {
            throw ArchitecturalException.gp("SYSRET at CPL " + cpu.cpl + " or outside 64-bit mode");
        }
        long rcx = reg(X86Reg.RCX);
        if (rexW && !cpu.canonical(rcx)) {
            throw ArchitecturalException.gp(String.format("SYSRET to the non-canonical RCX 0x%x", rcx));
        }
        long star = system.rdmsr(IA32_STAR);
        int base = (int) (star >>> 48) & 0xffff;
        set(X86Reg.RFLAGS, (reg(X86Reg.R11) & SYSRET_RFLAGS_MASK) | 2);
        int oldCpl = cpu.cpl;
        cpu.cs = ((rexW ? base + 16 : base) & 0xfffc) | 3;
        cpu.ss = ((base + 8) & 0xfffc) | 3;
        cpu.stackShape = ModeSwitch.FLAT_DATA_32;
        long code = rexW ? ModeSwitch.FLAT_CODE_64 : ModeSwitch.FLAT_CODE_32;
        cpu.codeSegments.load(new SegmentDescriptor(cpu.cs, code), ModeSwitch.FLAT_DATA_32, rexW ? rcx : rcx & 0xffffffffL);
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
        FarTransfers stack = system.far();
        long rsp = stack.stackPointer();
        int size = operand16 ? 2 : cpu.code32 ? 4 : 8;
        ByteBuffer b = ByteBuffer.wrap(cpu.readVirtual(stack.stackLinear(rsp), size)).order(ByteOrder.LITTLE_ENDIAN);
        long value = operand16 ? b.getShort(0) & 0xffffL : size == 4 ? b.getInt(0) & 0xffffffffL : b.getLong(0);
        long rflags = reg(X86Reg.RFLAGS);
        long loadable = (RFLAGS_LOADABLE & ~RFLAGS_IOPL & ~RFLAGS_RF & ~RFLAGS_VM) & ~(0x3L << 19); // VIF, VIP kept
        if (cpu.cpl > iopl()) {
            loadable &= ~RFLAGS_IF;
        }
        if (operand16) {
            loadable &= 0xffff;
        }
        set(X86Reg.RFLAGS, (rflags & ~loadable) | (value & loadable) | 2);
        stack.setStackPointer(rsp + size);
        set(X86Reg.RIP, next);
    }
}
