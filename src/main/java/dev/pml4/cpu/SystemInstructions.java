package dev.pml4.cpu;

import dev.pml4.ffi.capstone.Capstone;
import dev.pml4.ffi.capstone.Instruction;
import dev.pml4.ffi.capstone.Operand;
import dev.pml4.ffi.unicorn.X86Reg;
import dev.pml4.mmu.Mmu;
import dev.pml4.mmu.PagingState;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbEntry;

import java.util.List;
import java.util.Map;

/**
 * The sensitive instructions, emulated in Java before the engine would run them: control-register
 * moves, MSR access, INVLPG, HLT, time-stamp reads and the like. Each method leaves RIP after the
 * instruction, or throws the {@link ArchitecturalException} the instruction raises (RIP is then left
 * on it). Instruction semantics cite SDM Vol. 2 (the instruction reference) and Vol. 3A.
 */
final class SystemInstructions {
    // MSR indices, SDM Vol. 4 Table 2-2.
    static final int IA32_TIME_STAMP_COUNTER = 0x10;
    static final int IA32_APIC_BASE = 0x1b;
    static final int IA32_SYSENTER_CS = 0x174;
    static final int IA32_SYSENTER_ESP = 0x175;
    static final int IA32_SYSENTER_EIP = 0x176;
    static final int IA32_PAT = 0x277;
    static final int IA32_EFER = 0xc0000080;
    static final int IA32_STAR = 0xc0000081;
    static final int IA32_LSTAR = 0xc0000082;
    static final int IA32_CSTAR = 0xc0000083;
    static final int IA32_FMASK = 0xc0000084;
    static final int IA32_FS_BASE = 0xc0000100;
    static final int IA32_GS_BASE = 0xc0000101;
    static final int IA32_KERNEL_GS_BASE = 0xc0000102;
    static final int IA32_TSC_AUX = 0xc0000103;

    private final Cpu cpu;
    private final Capstone capstone;
    /** MSRs kept in Java, with their reset values (SDM Vol. 4 Table 2-2). */
    private final Map<Integer, Long> msrs = new java.util.HashMap<>(Map.of(
            IA32_APIC_BASE, 0xfee00900L, // BSP, xAPIC enabled, default base (SDM Vol. 3A 11.4.4)
            IA32_PAT, 0x0007040600070406L, // power-up value (SDM Vol. 3A 11.12.4)
            IA32_SYSENTER_CS, 0L, IA32_SYSENTER_ESP, 0L, IA32_SYSENTER_EIP, 0L,
            IA32_STAR, 0L, IA32_LSTAR, 0L, IA32_CSTAR, 0L, IA32_FMASK, 0L, IA32_TSC_AUX, 0L));
    private final long[] debugRegisters = {0, 0, 0, 0, 0, 0, 0xffff0ff0L, 0x400};
    /** DR6.BS, bit 14: the #DB was a single-step trap (SDM Vol. 3B 17.2.3). */
    private static final long DR6_BS = 1L << 14;
    private long tscOffset;

    private final PrivilegeTransfers privilege;
    private final DivideCheck divide;
    private final FarTransfers far;
    private final SegmentLoads segments;

    SystemInstructions(Cpu cpu, Capstone capstone) {
        this.cpu = cpu;
        this.capstone = capstone;
        this.privilege = new PrivilegeTransfers(cpu, this);
        this.divide = new DivideCheck(cpu, this);
        this.far = new FarTransfers(cpu, this);
        this.segments = new SegmentLoads(cpu, this);
    }

    FarTransfers far() {
        return far;
    }

    /** Emulates the sensitive instruction at {@code rip}; instructions in a sensitive group that are harmless run natively. */
    void execute(long rip, int length) {
        byte[] bytes = cpu.instructionBytes(rip, length);
        int i = 0;
        boolean rexW = false, rexR = false, rexB = false, opsize = false;
        for (; i < bytes.length; i++) {
            int b = bytes[i] & 0xff;
            if (b >= 0x40 && b <= 0x4f && !cpu.code32) { // REX: 64-bit code only (INC/DEC in 32-bit code)
                rexW = (b & 8) != 0;
                rexR = (b & 4) != 0;
                rexB = (b & 1) != 0;
            } else if (b == 0x66) {
                opsize = true;
            } else if (!SensitiveOpcodes.PREFIX[b]) {
                break;
            }
        }
        int op = bytes[i] & 0xff;
        long next = rip + length;
        // Far transfers: 32-bit operands unless REX.W (64-bit code) or 66 (16-bit, not modelled).
        int farWidth = rexW ? 8 : opsize ? 2 : 4;
        // POP Sreg: 64-bit code pops 8 bytes, 32-bit code 4.
        int popWidth = opsize ? 2 : cpu.code32 ? 4 : 8;
        int modrm1 = i + 1 < bytes.length ? bytes[i + 1] & 0xff : 0;
        if (op != 0x0f) {
            switch (op) {
                case 0xea, 0x9a -> far.direct(rip, next, bytes, i, farWidth, op == 0x9a);
                case 0xff -> far.indirect(rip, next, modrm1, farWidth, ((modrm1 >> 3) & 7) == 3);
                case 0xca, 0xcb -> far.farReturn(farWidth, op == 0xca ? (bytes[i + 1] & 0xff) | (bytes[i + 2] & 0xff) << 8 : 0);
                case 0x07 -> segments.pop(next, SegmentLoads.ES, popWidth);
                case 0x17 -> segments.pop(next, SegmentLoads.SS, popWidth);
                case 0x1f -> segments.pop(next, SegmentLoads.DS, popWidth);
                case 0xc4, 0xc5 -> segments.loadFarPointer(rip, next, op == 0xc4 ? SegmentLoads.ES : SegmentLoads.DS, modrm1, farWidth, rexR);
                case 0xf4 -> hlt(rip, next);
                case 0xcc -> throw ArchitecturalException.software(ArchitecturalException.BP, next, "INT3");
                case 0xcd -> throw ArchitecturalException.software(bytes[i + 1] & 0xff, next, "INT " + (bytes[i + 1] & 0xff));
                case 0xf1 -> throw ArchitecturalException.icebp(next);
                case 0xcf -> {
                    requireNoLock(bytes, i);
                    privilege.iret(rip, farWidth);
                    cpu.requestInterruptCheck();
                }
                case 0xf6, 0xf7 -> divide.check(rip, bytes, i, op == 0xf6, rexW, rexB, opsize);
                case 0x8c -> movFromSegment(rip, next, bytes[i + 1] & 0xff, rexW, rexB, opsize);
                case 0x8e -> segments.mov(rip, next, bytes[i + 1] & 0xff, rexB);
                case 0xfa -> privilege.requireIopl("CLI");
                case 0xfb -> {
                    if (cpu.cpl == 3) {
                        privilege.requireIopl("STI");
                    }
                    cpu.requestInterruptCheckAfterNext(); // the engine runs it; interrupts wait one instruction
                }
                case 0x9d -> {
                    if (cpu.cpl == 3) {
                        privilege.popfUser(next, opsize);
                    }
                    cpu.requestInterruptCheck(); // IF may have come on
                }
                case 0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef, 0x6c, 0x6d, 0x6e, 0x6f ->
                        privilege.requireIopl("port I/O (the TSS I/O permission bitmap is not modelled)");
                default -> throw new IllegalStateException("unclassified opcode 0x" + Integer.toHexString(op));
            }
            return;
        }
        int op2 = bytes[i + 1] & 0xff;
        int modrm = i + 2 < bytes.length ? bytes[i + 2] & 0xff : 0;
        int reg = ((modrm >> 3) & 7) | (rexR ? 8 : 0);
        int rm = (modrm & 7) | (rexB ? 8 : 0);
        switch (op2) {
            case 0x01 -> group7(rip, next, modrm, rm);
            case 0x06 -> {
                requireCpl0("CLTS");
                cpu.control.setCr0(cpu.control.cr0() & ~ControlRegisters.CR0_TS, !cpu.code32);
                cpu.mirrorFpuControl();
                advance(next);
            }
            case 0x20 -> {
                requireCpl0("MOV from CR" + reg);
                writeGpr(rm, readCr(reg));
                advance(next);
            }
            case 0x22 -> {
                requireCpl0("MOV to CR" + reg);
                long before = reg == 0 || reg == 2 || reg == 3 || reg == 4 || reg == 8 ? readCr(reg) : 0;
                writeCr(reg, readGpr(rm));
                cpu.observer.controlRegister("cr" + reg, before, readCr(reg));
                advance(next);
            }
            case 0x21 -> {
                requireCpl0("MOV from DR" + reg);
                writeGpr(rm, debugRegisters[debugIndex(reg)]);
                advance(next);
            }
            case 0x23 -> {
                requireCpl0("MOV to DR" + reg);
                debugRegisters[debugIndex(reg)] = readGpr(rm);
                advance(next);
            }
            case 0x30 -> {
                requireCpl0("WRMSR");
                int msr = (int) readGpr(1);
                wrmsr(msr, (readGpr(2) << 32) | (readGpr(0) & 0xffffffffL));
                advance(next);
            }
            case 0x32 -> {
                requireCpl0("RDMSR");
                long v = rdmsr((int) readGpr(1));
                writeGpr(0, v & 0xffffffffL);
                writeGpr(2, v >>> 32);
                advance(next);
            }
            case 0x31 -> {
                rdtsc(next);
            }
            case 0x33 -> {
                if (cpu.cpl != 0 && (cpu.control.cr4() & ControlRegisters.CR4_PCE) == 0) {
                    throw ArchitecturalException.gp("RDPMC at CPL 3 with CR4.PCE = 0");
                }
                // No performance counters are modelled: they read as zero.
                writeGpr(0, 0);
                writeGpr(2, 0);
                advance(next);
            }
            case 0x05 -> privilege.syscall(next);
            case 0x07 -> {
                privilege.sysret(rexW);
                cpu.requestInterruptCheck(); // IF comes back from R11
            }
            case 0x00 -> {
                int reg6 = (modrm >> 3) & 7;
                if ((reg6 == 2 || reg6 == 3) && cpu.cpl != 0) {
                    throw ArchitecturalException.gp((reg6 == 2 ? "LLDT" : "LTR") + " at CPL " + cpu.cpl);
                }
                if (reg6 == 3 && (cpu.control.efer() & ControlRegisters.EFER_LMA) == 0) {
                    ltr32(rip, next, modrm, rexB);
                }
                // SLDT, STR, VERR, VERW, and LLDT/LTR at CPL 0 in IA-32e mode, run natively.
            }
            case 0x08, 0x09 -> {
                requireCpl0(op2 == 8 ? "INVD" : "WBINVD");
                advance(next); // no caches are modelled: nothing to write back
            }
            case 0x0b -> throw ArchitecturalException.ud("UD2");
            case 0x34, 0x35 -> throw ArchitecturalException.ud("SYSENTER/SYSEXIT are not part of this CPU model (use SYSCALL)");
            case 0xae -> mxcsrLoad(rip, bytes.length > i + 2 ? bytes[i + 2] & 0xff : 0xc0);
            case 0x38 -> {
                if (bytes.length > i + 3 && (bytes[i + 2] & 0xff) == 0x82 && opsize) {
                    int modrm82 = bytes[i + 3] & 0xff;
                    invpcid(rip, ((modrm82 >> 3) & 7) | (rexR ? 8 : 0), modrm82);
                    advance(next);
                }
                // Other 0F 38 instructions are ordinary: let the engine run them.
            }
            case 0xa1 -> segments.pop(next, SegmentLoads.FS, popWidth);
            case 0xa9 -> segments.pop(next, SegmentLoads.GS, popWidth);
            case 0xb2 -> segments.loadFarPointer(rip, next, SegmentLoads.SS, modrm, farWidth, rexR);
            case 0xb4 -> segments.loadFarPointer(rip, next, SegmentLoads.FS, modrm, farWidth, rexR);
            case 0xb5 -> segments.loadFarPointer(rip, next, SegmentLoads.GS, modrm, farWidth, rexR);
            case 0xa2 -> {
                int[] r = Cpuid.query((int) readGpr(0), (int) readGpr(1));
                writeGpr(0, r[0] & 0xffffffffL);
                writeGpr(3, r[1] & 0xffffffffL);
                writeGpr(1, r[2] & 0xffffffffL);
                writeGpr(2, r[3] & 0xffffffffL);
                advance(next);
            }
            default -> throw new IllegalStateException("unclassified opcode 0f " + Integer.toHexString(op2));
        }
    }

    private static void requireNoLock(byte[] bytes, int opcodeIndex) {
        for (int k = 0; k < opcodeIndex; k++) {
            if ((bytes[k] & 0xff) == 0xf0) {
                throw ArchitecturalException.ud("LOCK prefix on an instruction that does not take it");
            }
        }
    }

    private void advance(long next) {
        cpu.engine.writeRegister(X86Reg.RIP, next);
    }

    private void requireCpl0(String what) {
        if (cpu.cpl != 0) {
            throw ArchitecturalException.gp(what + " at CPL " + cpu.cpl);
        }
    }

    /** A general-purpose register as the current code reads it: all 64 bits, or the low 32 in 32-bit code. */
    long readGpr(int encoding) {
        long v = cpu.engine.readRegister(X86Reg.GPR_BY_ENCODING[encoding]);
        return cpu.code32 ? v & 0xffffffffL : v;
    }

    /** Writes a register as a 64-bit (or, in 32-bit code, zero-extended 32-bit) destination. */
    private void writeGpr(int encoding, long value) {
        cpu.engine.writeRegister(X86Reg.GPR_BY_ENCODING[encoding], cpu.code32 ? value & 0xffffffffL : value);
    }

    /**
     * The engine took a single-step trap (RFLAGS.TF, QEMU raises it itself): DR6.BS says so to the
     * handler (SDM Vol. 3B 17.2.3; the processor sets status bits and never clears BS).
     */
    void singleStepTrapped() {
        debugRegisters[6] |= DR6_BS;
    }

    private int debugIndex(int reg) {
        if (reg > 7) {
            throw ArchitecturalException.ud("DR" + reg + " does not exist");
        }
        if (reg == 4 || reg == 5) {
            if ((cpu.control.cr4() & ControlRegisters.CR4_DE) != 0) {
                throw ArchitecturalException.ud("DR" + reg + " with CR4.DE = 1");
            }
            return reg + 2; // aliases of DR6/DR7 (SDM Vol. 3B 17.2.2)
        }
        return reg;
    }

    // ---- HLT ----------------------------------------------------------------------------------

    private void hlt(long rip, long next) {
        requireCpl0("HLT");
        // HLT retires; RIP is after it, as an interrupt that wakes the processor would push.
        long rflags = cpu.engine.readRegister(X86Reg.RFLAGS);
        if ((rflags & Cpu.RFLAGS_IF) == 0) {
            cpu.stopAfterEmulated(new StopReason.Halted(rip), next);
        } else {
            cpu.haltUntilInterrupt(rip, next);
        }
    }

    // ---- control registers --------------------------------------------------------------------

    private long readCr(int n) {
        return switch (n) {
            case 0 -> cpu.control.cr0();
            case 2 -> cpu.control.cr2();
            case 3 -> cpu.control.cr3();
            case 4 -> cpu.control.cr4();
            case 8 -> cpu.control.cr8();
            default -> throw ArchitecturalException.ud("CR" + n + " does not exist");
        };
    }

    private void writeCr(int n, long value) {
        ControlRegisters cr = cpu.control;
        Mmu mmu = cpu.mmu;
        switch (n) {
            case 0 -> {
                long old = cr.cr0();
                String mode = cpu.processorMode();
                cr.setCr0(value, !cpu.code32);
                cpu.modeChanged(mode);
                long changed = old ^ cr.cr0();
                if ((changed & ControlRegisters.CR0_PG) != 0) {
                    mmu.invalidate("MOV to CR0 (PG)", mmu.tlb().flushAll());
                }
                if ((changed & ControlRegisters.CR0_WP) != 0) {
                    mmu.rightsContextChanged();
                }
                cpu.mirrorFpuControl();
            }
            case 2 -> cr.setCr2(value);
            case 3 -> {
                cr.checkCr3(value);
                boolean noFlush = (cr.cr4() & ControlRegisters.CR4_PCIDE) != 0 && (value & (1L << 63)) != 0;
                cr.setCr3(value);
                PagingState s = cpu.pagingState();
                if (!noFlush) {
                    // SDM 4.10.4.1: non-global entries of the new PCID (all PCIDs are 0 without PCIDE).
                    mmu.invalidate("MOV to CR3", mmu.tlb().flushNonGlobal(Mmu.currentPcid(s)));
                }
                // What stays resident may belong to another PCID: map again on demand.
                mmu.rightsContextChanged();
            }
            case 4 -> {
                long old = cr.cr4();
                cr.setCr4(value);
                long changed = old ^ cr.cr4();
                boolean pcidCleared = (old & ControlRegisters.CR4_PCIDE) != 0 && (value & ControlRegisters.CR4_PCIDE) == 0;
                if ((changed & ControlRegisters.CR4_PGE) != 0 || pcidCleared) {
                    mmu.invalidate("MOV to CR4 (PGE/PCIDE)", mmu.tlb().flushAll());
                } else if ((changed & ControlRegisters.CR4_PAE) != 0
                        || ((changed & ControlRegisters.CR4_SMEP) != 0 && (value & ControlRegisters.CR4_SMEP) != 0)) {
                    mmu.invalidate("MOV to CR4 (PAE/SMEP)", mmu.tlb().flushNonGlobal(Mmu.currentPcid(cpu.pagingState())));
                }
                mmu.rightsContextChanged();
                cpu.mirrorFpuControl();
            }
            case 8 -> cr.setCr8(value);
            default -> throw ArchitecturalException.ud("CR" + n + " does not exist");
        }
        cpu.codeMappingsChanged();
    }

    // ---- segment registers ------------------------------------------------------------------

    /**
     * MOV r/m, CS or SS: the selectors the guest sees are pml4's, the engine's stay at CPL 0 (SDM
     * Vol. 2B MOV: a register destination gets the selector zero-extended, a memory one 16 bits).
     */
    private void movFromSegment(long rip, long next, int modrm, boolean rexW, boolean rexB, boolean opsize) {
        int sreg = (modrm >> 3) & 7;
        if (sreg != 1 && sreg != 2) {
            return; // ES, DS, FS, GS: the engine's are the guest's
        }
        int selector = sreg == 1 ? cpu.cs : cpu.ss;
        if ((modrm >> 6) == 3) {
            int rm = (modrm & 7) | (rexB ? 8 : 0);
            long value = opsize ? (readGpr(rm) & ~0xffffL) | selector : selector;
            writeGpr(rm, value);
        } else {
            cpu.writeLinear(effectiveAddress(rip), new byte[]{(byte) selector, (byte) (selector >> 8)}, cpu.dataMode());
        }
        advance(next);
    }

    /**
     * LTR in protected mode (SDM Vol. 2A LTR): an available 32-bit TSS (type 9), marked busy. The
     * engine, always in IA-32e mode, would read a 16-byte TSS descriptor (and fault on the next
     * descriptor's bits), so TR is loaded from Java.
     */
    private void ltr32(long rip, long next, int modrm, boolean rexB) {
        int selector;
        if ((modrm >> 6) == 3) {
            selector = (int) readGpr((modrm & 7) | (rexB ? 8 : 0)) & 0xffff;
        } else {
            byte[] b = cpu.readVirtual(effectiveAddress(rip), 2);
            selector = (b[0] & 0xff) | (b[1] & 0xff) << 8;
        }
        SegmentDescriptor d = SegmentDescriptor.read(cpu, selector, 0, "LTR");
        int type = (int) (d.raw() >>> 40) & 0x1f; // S and type
        if (type == 0x01 || type == 0x03) {
            throw new NotModelledException(String.format("LTR 0x%x: a 16-bit TSS", selector));
        }
        if (type != 0x09) {
            throw new ArchitecturalException(ArchitecturalException.GP, selector & ~3, 0, String.format(
                    "LTR 0x%x: a %s, not an available 32-bit TSS", selector, d.kind()));
        }
        if (!d.present()) {
            throw new ArchitecturalException(ArchitecturalException.NP, selector & ~3, 0, String.format("LTR 0x%x: not present", selector));
        }
        var gdtr = cpu.engine.readDescriptorRegister(X86Reg.GDTR);
        cpu.writeLinear(gdtr.base() + (selector & ~7) + 5, new byte[]{(byte) ((d.raw() >>> 40) | 2)}, dev.pml4.mmu.AccessMode.IMPLICIT_SUPERVISOR);
        // The engine's flags are the descriptor's bits 55:40 where they stand in its high dword (QEMU's SegmentCache).
        int flags = (int) (d.raw() >>> 32) & 0x00f0ff00 | 0x200;
        cpu.engine.writeDescriptorRegister(X86Reg.TR, new dev.pml4.ffi.unicorn.DescriptorRegister(selector, d.base(), (int) d.limit(), flags));
        advance(next);
    }

    // ---- INVPCID -----------------------------------------------------------------------------

    /** INVPCID r64, m128 (SDM Vol. 2A INVPCID; Vol. 3A 4.10.4.1). */
    private void invpcid(long rip, int typeRegister, int modrm) {
        if ((modrm >> 6) == 3) {
            throw ArchitecturalException.ud("INVPCID with a register as its descriptor operand");
        }
        requireCpl0("INVPCID");
        long type = readGpr(typeRegister);
        if (Long.compareUnsigned(type, 3) > 0) {
            throw ArchitecturalException.gp("INVPCID type " + Long.toUnsignedString(type) + " (types are 0 to 3)");
        }
        long descriptorAddress = effectiveAddress(rip);
        byte[] descriptor = cpu.readVirtual(descriptorAddress, 16);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(descriptor).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long low = b.getLong();
        long linear = b.getLong();
        if ((low & ~0xfffL) != 0) {
            throw ArchitecturalException.gp(String.format("INVPCID descriptor bits 63:12 are not zero (0x%x)", low));
        }
        int pcid = (int) (low & 0xfff);
        boolean pcide = (cpu.control.cr4() & ControlRegisters.CR4_PCIDE) != 0;
        if (type <= 1 && !pcide && pcid != 0) {
            throw ArchitecturalException.gp("INVPCID type " + type + " of PCID " + pcid + " with CR4.PCIDE = 0");
        }
        Mmu mmu = cpu.mmu;
        switch ((int) type) {
            case 0 -> {
                if (!cpu.canonical(linear)) {
                    throw ArchitecturalException.gp(String.format("INVPCID type 0 of a non-canonical address 0x%x", linear));
                }
                mmu.invalidate("INVPCID (address)", mmu.tlb().invalidateAddress(linear, pcid, false));
            }
            case 1 -> mmu.invalidate("INVPCID (single context)", mmu.tlb().flushPcid(pcid));
            case 2 -> mmu.invalidate("INVPCID (all contexts and globals)", mmu.tlb().flushAll());
            default -> mmu.invalidate("INVPCID (all contexts)", mmu.tlb().flushAllNonGlobal());
        }
        cpu.codeMappingsChanged();
    }

    // ---- group 7: SMSW, LMSW, INVLPG, SWAPGS, RDTSCP -------------------------------------------

    private void group7(long rip, long next, int modrm, int rm) {
        int reg = (modrm >> 3) & 7;
        boolean memory = (modrm >> 6) != 3;
        if (cpu.cpl != 0) {
            if (memory && (reg == 2 || reg == 3)) {
                throw ArchitecturalException.gp((reg == 2 ? "LGDT" : "LIDT") + " at CPL " + cpu.cpl);
            }
            if (modrm == 0xf8 || modrm == 0xca || modrm == 0xcb || modrm == 0xc8 || modrm == 0xc9) {
                throw ArchitecturalException.ud(String.format("0F 01 %02X (SWAPGS, CLAC, STAC, MONITOR or MWAIT) at CPL %d", modrm, cpu.cpl));
            }
        }
        if (reg == 4) { // SMSW: CR0 (a register destination gets all of it on Intel, SDM Vol. 2B SMSW)
            if (memory) {
                return; // a 16-bit store: the engine's low CR0 bits mirror the guest's (mirrorFpuControl)
            }
            writeGpr(rm, cpu.control.cr0());
            advance(next);
        } else if (reg == 6) { // LMSW: may set PE and change MP, EM, TS; never clears PE (SDM Vol. 2A LMSW)
            requireCpl0("LMSW");
            long source;
            if (memory) {
                byte[] word = cpu.readVirtual(effectiveAddress(rip), 2);
                source = word[0] & 0xf;
            } else {
                source = readGpr(rm) & 0xf;
            }
            long cr0 = cpu.control.cr0();
            writeCr(0, (cr0 & ~0xeL) | source | (cr0 & 1));
            advance(next);
        } else if (reg == 7 && memory) {
            requireCpl0("INVLPG");
            cpu.mmu.invlpg(effectiveAddress(rip), cpu.pagingState());
            cpu.codeMappingsChanged();
            advance(next);
        } else if (reg == 7 && modrm == 0xf9) {
            rdtsc(next);
            writeGpr(1, msrs.get(IA32_TSC_AUX) & 0xffffffffL);
        }
        // Everything else in group 7 (LGDT, LIDT, SGDT, SIDT, SWAPGS, STAC/CLAC, ...) runs natively.
    }

    /**
     * Group 15 (0F AE): LDMXCSR (/2) and FXRSTOR (/1) raise #GP(0) when the MXCSR value they load
     * sets a reserved bit (SDM Vol. 2A LDMXCSR, FXRSTOR: bits 31:16 here, MXCSR_MASK being 0xFFFF),
     * which the engine never checks (it keeps the bits it knows and goes on). Then the engine runs
     * the instruction; every other form of the group (fences, FXSAVE, STMXCSR, CLFLUSH) too.
     */
    private void mxcsrLoad(long rip, int modrm) {
        int reg = (modrm >> 3) & 7;
        if ((modrm >> 6) == 3 || (reg != 1 && reg != 2)) {
            return;
        }
        long operand = effectiveAddress(rip);
        byte[] mxcsr = cpu.readVirtual(operand + (reg == 1 ? FXSAVE_MXCSR : 0), 4);
        long value = (mxcsr[0] & 0xffL) | (mxcsr[1] & 0xffL) << 8 | (mxcsr[2] & 0xffL) << 16 | (mxcsr[3] & 0xffL) << 24;
        if ((value & ~MXCSR_MASK) != 0) {
            throw ArchitecturalException.gp(String.format("%s of MXCSR 0x%x, which sets reserved bits",
                    reg == 1 ? "FXRSTOR" : "LDMXCSR", value));
        }
    }

    /** MXCSR_MASK of pml4's processor: bits 15:0 (DAZ included) may be set (SDM Vol. 1 11.6.6). */
    private static final long MXCSR_MASK = 0xffff;
    /** Where MXCSR sits in the FXSAVE area (SDM Vol. 1 table 10-2). */
    private static final long FXSAVE_MXCSR = 24;

    long effectiveAddress(long rip) {
        byte[] bytes = cpu.instructionBytes(rip, 15);
        // An encoding Capstone cannot decode (MOV Sreg with REX.R, say) is no instruction: #UD, as QEMU gives.
        Instruction insn = capstone.decode(bytes, rip, cpu.code32).orElseThrow(
                () -> ArchitecturalException.ud("an encoding that decodes as no instruction"));
        for (Operand op : insn.operands()) {
            if (op instanceof Operand.Memory m) {
                long ea = m.displacement();
                boolean address32 = false; // a 67 prefix: 32-bit registers, and the sum wraps at 4 GiB (SDM Vol. 1 3.3.7)
                if (m.base() != null) {
                    address32 = m.base().equals("eip") || GPR32_NAMES.contains(m.base());
                    ea += m.base().endsWith("ip") ? rip + insn.length() : register(m.base());
                }
                if (m.index() != null) {
                    address32 |= GPR32_NAMES.contains(m.index());
                    ea += register(m.index()) * m.scale();
                }
                if (address32) {
                    ea &= 0xffffffffL;
                }
                if ("fs".equals(m.segment())) {
                    ea += cpu.engine.readRegister(X86Reg.FS_BASE);
                } else if ("gs".equals(m.segment())) {
                    ea += cpu.engine.readRegister(X86Reg.GS_BASE);
                } else if (cpu.code32) {
                    // 32-bit code adds the segment's base (SDM Vol. 3A 3.4): SS for ESP/EBP bases, else DS.
                    String segment = m.segment() != null ? m.segment()
                            : "esp".equals(m.base()) || "ebp".equals(m.base()) ? "ss" : "ds";
                    ea += cpu.segmentBase[SEGMENT_NAMES.indexOf(segment)];
                }
                return cpu.code32 ? ea & 0xffffffffL : ea;
            }
        }
        throw ArchitecturalException.ud("no memory operand in " + insn.mnemonic() + " " + insn.operandText());
    }

    private static final List<String> GPR_NAMES = List.of("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");

    /** ES, CS, SS, DS in segment-register encoding order: the index into {@link Cpu#segmentBase}. */
    private static final List<String> SEGMENT_NAMES = List.of("es", "cs", "ss", "ds");

    /** An address register by Capstone's name: rax..r15, or eax..r15d in 32-bit code or under a 67 prefix (zero-extended). */
    private long register(String name) {
        int i = GPR_NAMES.indexOf(name);
        if (i >= 0) {
            return readGpr(i);
        }
        i = GPR32_NAMES.indexOf(name);
        if (i >= 0) {
            return readGpr(i) & 0xffffffffL;
        }
        throw ArchitecturalException.ud("address register " + name + " in an emulated instruction");
    }

    private static final List<String> GPR32_NAMES = List.of("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
            "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d");

    // ---- MSRs and time ------------------------------------------------------------------------

    private void rdtsc(long next) {
        if (cpu.cpl != 0 && (cpu.control.cr4() & ControlRegisters.CR4_TSD) != 0) {
            throw ArchitecturalException.gp("RDTSC at CPL 3 with CR4.TSD = 1");
        }
        long tsc = timeStampCounter();
        writeGpr(0, tsc & 0xffffffffL);
        writeGpr(2, tsc >>> 32);
        advance(next);
    }

    /** The TSC counts retired instructions: virtual time, so every run reads the same values. */
    long timeStampCounter() {
        return cpu.now() + tscOffset;
    }

    long rdmsr(int msr) {
        return switch (msr) {
            case IA32_EFER -> cpu.control.efer();
            case IA32_TIME_STAMP_COUNTER -> timeStampCounter();
            case IA32_FS_BASE, IA32_GS_BASE, IA32_KERNEL_GS_BASE -> cpu.engine.readMsr(msr);
            default -> {
                Long v = msrs.get(msr);
                if (v == null) {
                    throw ArchitecturalException.gp(String.format("RDMSR of MSR 0x%x, which this CPU model does not implement", msr));
                }
                yield v;
            }
        };
    }

    void wrmsr(int msr, long value) {
        switch (msr) {
            case IA32_EFER -> {
                long old = cpu.control.efer();
                cpu.control.setEfer(value);
                cpu.observer.controlRegister("efer", old, cpu.control.efer());
                if (((old ^ value) & ControlRegisters.EFER_NXE) != 0) {
                    cpu.mmu.rightsContextChanged();
                    cpu.codeMappingsChanged();
                }
            }
            case IA32_TIME_STAMP_COUNTER -> tscOffset = value - cpu.now();
            case IA32_FS_BASE, IA32_GS_BASE, IA32_KERNEL_GS_BASE, IA32_LSTAR, IA32_CSTAR, IA32_SYSENTER_EIP, IA32_SYSENTER_ESP -> {
                if (!cpu.canonical(value)) {
                    throw ArchitecturalException.gp(String.format("WRMSR of a non-canonical address 0x%x to MSR 0x%x", value, msr));
                }
                if (msr == IA32_FS_BASE || msr == IA32_GS_BASE || msr == IA32_KERNEL_GS_BASE) {
                    cpu.engine.writeMsr(msr, value); // the engine uses them for FS:/GS: and SWAPGS
                } else {
                    msrs.put(msr, value);
                }
            }
            case IA32_APIC_BASE -> msrs.put(msr, value);
            case IA32_PAT -> {
                for (int i = 0; i < 8; i++) {
                    int type = (int) (value >>> (8 * i)) & 0xff;
                    if (type == 2 || type == 3 || type > 7) {
                        throw ArchitecturalException.gp(String.format("WRMSR to IA32_PAT with reserved memory type %d in entry %d", type, i));
                    }
                }
                msrs.put(msr, value);
            }
            default -> {
                if (!msrs.containsKey(msr)) {
                    throw ArchitecturalException.gp(String.format("WRMSR to MSR 0x%x, which this CPU model does not implement", msr));
                }
                msrs.put(msr, value);
            }
        }
    }


}
