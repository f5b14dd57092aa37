package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.X86Reg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Far JMP, far CALL and far RET, and the checks every far transfer makes on its target code
 * segment and, returning outward, on its stack segment (SDM Vol. 2A CALL, JMP; Vol. 2B RET; Vol. 3A
 * 5.8). They are emulated in Java, not left to the engine: QEMU would raise #GP or #NP itself,
 * which must never happen (DESIGN.md fact 1), it truncates RSP in some of them (spikes/modes
 * REPORT.md T8), and it runs at its own CPL 0 while the guest may not. The engine follows the new
 * code segment through {@link CodeSegments#load}.
 *
 * <p>Not modelled (the run stops with status 12): call gates and task switches, 16-bit code and
 * 16-bit operand sizes, and code segments whose base is not 0.
 */
final class FarTransfers {
    private final Cpu cpu;
    private final SystemInstructions system;

    FarTransfers(Cpu cpu, SystemInstructions system) {
        this.cpu = cpu;
        this.system = system;
    }

    // ---- the checks -----------------------------------------------------------------------------

    /**
     * The target of a far JMP or CALL to a code segment at the current privilege level (SDM Vol. 2A
     * JMP, "IF far jump"; CALL, "CONFORMING-CODE-SEGMENT", "NONCONFORMING-CODE-SEGMENT").
     */
    SegmentDescriptor jumpTarget(int selector, String what) {
        SegmentDescriptor d = SegmentDescriptor.read(cpu, selector, 0, what);
        requireCode(d, what);
        int cpl = cpu.cpl;
        if (d.conforming() ? d.dpl() > cpl : (selector & 3) > cpl || d.dpl() != cpl) {
            throw gp(selector, String.format("%s 0x%x: a %s code segment of DPL %d cannot be reached from CPL %d",
                    what, selector, d.conforming() ? "conforming" : "nonconforming", d.dpl(), cpl));
        }
        requirePresent(d, what);
        return d;
    }

    /**
     * The target of a far RET or IRET, at privilege level RPL (SDM Vol. 2B RET, "RETURN-TO-SAME-
     * PRIVILEGE-LEVEL" and "RETURN-TO-OUTER-PRIVILEGE-LEVEL"; Vol. 2A IRET).
     */
    SegmentDescriptor returnTarget(int selector, String what) {
        if ((selector & ~3) == 0) {
            throw ArchitecturalException.gp(what + " is the null selector");
        }
        int rpl = selector & 3;
        if (rpl < cpu.cpl) {
            throw gp(selector, String.format("%s 0x%x, whose RPL %d is below CPL %d", what, selector, rpl, cpu.cpl));
        }
        SegmentDescriptor d = SegmentDescriptor.read(cpu, selector, 0, what);
        requireCode(d, what);
        if (d.conforming() ? d.dpl() > rpl : d.dpl() != rpl) {
            throw gp(selector, String.format("%s 0x%x, which is not a code segment of DPL %d", what, selector, rpl));
        }
        requirePresent(d, what);
        return d;
    }

    /**
     * The stack segment a return to an outer privilege level loads (SDM Vol. 2B RET; Vol. 2A IRET):
     * RPL and DPL equal to the new CPL, a writable data segment, present. A null SS is allowed only
     * into 64-bit code below CPL 3. Returns the shape 32-bit code will use.
     */
    long outerStack(int ss, int rpl, boolean into64, String what) {
        if ((ss & ~3) == 0) {
            if (!into64 || rpl == 3) {
                throw ArchitecturalException.gp(what + " loads a null SS");
            }
            return ModeSwitch.FLAT_DATA_32;
        }
        if ((ss & 3) != rpl) {
            throw gp(ss, String.format("%s: SS 0x%x, whose RPL differs from the new CPL %d", what, ss, rpl));
        }
        SegmentDescriptor stack = SegmentDescriptor.read(cpu, ss, 0, what + "'s SS");
        if (!stack.isWritableData() || stack.dpl() != rpl) {
            throw gp(ss, String.format("%s: SS 0x%x, which is not a writable data segment of DPL %d", what, ss, rpl));
        }
        if (!stack.present()) {
            throw new ArchitecturalException(ArchitecturalException.SS, ss & ~3, 0, String.format("%s: SS 0x%x is not present", what, ss));
        }
        stack.markAccessed(cpu);
        return stack.raw();
    }

    private void requireCode(SegmentDescriptor d, String what) {
        if (!d.isCode()) {
            if ((d.raw() >>> 44 & 1) == 0) {
                int type = (int) (d.raw() >>> 40) & 0xf;
                if (type == 0x4 || type == 0xc || type == 0x5 || type == 0x9 || type == 0xb) {
                    throw new NotModelledException(String.format("%s 0x%x names a call gate, task gate or TSS (type 0x%x): gates and task switches are not modelled",
                            what, d.selector(), type));
                }
            }
            throw gp(d.selector(), String.format("%s 0x%x is a %s, not a code segment", what, d.selector(), d.kind()));
        }
        boolean ia32e = (cpu.control.efer() & ControlRegisters.EFER_LMA) != 0;
        if (ia32e && d.longMode() && d.big()) {
            throw gp(d.selector(), String.format("%s 0x%x has both L and D set (SDM 5.2.1)", what, d.selector()));
        }
        if (!(ia32e && d.longMode()) && !d.big()) {
            throw new NotModelledException(String.format("%s 0x%x is a 16-bit code segment: 16-bit code is not modelled", what, d.selector()));
        }
        if (!(ia32e && d.longMode()) && d.base() != 0) {
            throw new NotModelledException(String.format("%s 0x%x has base 0x%x: code segments with a base other than 0 are not modelled",
                    what, d.selector(), d.base()));
        }
    }

    private static void requirePresent(SegmentDescriptor d, String what) {
        if (!d.present()) {
            throw new ArchitecturalException(ArchitecturalException.NP, d.selector() & ~3, 0,
                    String.format("%s 0x%x is not present", what, d.selector()));
        }
    }

    private static ArchitecturalException gp(int selector, String reason) {
        return new ArchitecturalException(ArchitecturalException.GP, selector & ~3, 0, reason);
    }

    /**
     * Checks the offset a transfer lands on (SDM: #GP(0) beyond the limit of a 32-bit segment, or
     * non-canonical in 64-bit code), then enters the segment. In legacy protected mode (EFER.LMA =
     * 0) the L flag means nothing and the segment runs as 32-bit code.
     */
    void enter(int selector, SegmentDescriptor code, long offset, int newCpl, long stack, String what) {
        SegmentDescriptor effective = checkOffset(code, offset, what);
        int oldCpl = cpu.cpl;
        cpu.cs = (selector & ~3) | newCpl;
        cpu.codeSegments.load(effective, stack, offset);
        cpu.setCpl(newCpl, oldCpl);
    }

    /** The #GP(0) checks of the landing offset; returns the descriptor as the processor mode reads it. */
    SegmentDescriptor checkOffset(SegmentDescriptor code, long offset, String what) {
        boolean ia32e = (cpu.control.efer() & ControlRegisters.EFER_LMA) != 0;
        SegmentDescriptor effective = ia32e || !code.longMode() ? code
                : new SegmentDescriptor(code.selector(), code.raw() & ~(1L << 53));
        if (effective.longMode()) {
            if (!cpu.canonical(offset)) {
                throw ArchitecturalException.gp(String.format("%s to the non-canonical RIP 0x%x", what, offset));
            }
        } else if (offset > code.limit()) {
            throw ArchitecturalException.gp(String.format("%s to EIP 0x%x, beyond the limit 0x%x of CS 0x%x",
                    what, offset, code.limit(), code.selector()));
        }
        return effective;
    }

    // ---- the instructions --------------------------------------------------------------------

    /**
     * JMP ptr16:32 (EA) or CALL ptr16:32 (9A), 32-bit code only: the pointer is in the instruction,
     * offset first, then the selector.
     */
    void direct(long rip, long next, byte[] bytes, int opcodeIndex, int width, boolean call) {
        requireWidth(width, call ? "CALL far" : "JMP far");
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long offset = b.getInt(opcodeIndex + 1) & 0xffffffffL;
        int selector = b.getShort(opcodeIndex + 5) & 0xffff;
        transfer(next, selector, offset, width, call);
    }

    /** JMP m16:32 / m16:64 (FF /5) and CALL m16:32 / m16:64 (FF /3). */
    void indirect(long rip, long next, int modrm, int width, boolean call) {
        String what = call ? "CALL far" : "JMP far";
        if ((modrm >> 6) == 3) {
            throw ArchitecturalException.ud(what + " with a register operand");
        }
        requireWidth(width, what);
        ByteBuffer b = ByteBuffer.wrap(cpu.readVirtual(system.effectiveAddress(rip), width + 2)).order(ByteOrder.LITTLE_ENDIAN);
        long offset = width == 8 ? b.getLong(0) : b.getInt(0) & 0xffffffffL;
        int selector = b.getShort(width) & 0xffff;
        transfer(next, selector, offset, width, call);
    }

    private void transfer(long next, int selector, long offset, int width, boolean call) {
        String what = call ? "CALL far" : "JMP far";
        if ((selector & ~3) == 0) {
            throw ArchitecturalException.gp(what + " to the null selector");
        }
        SegmentDescriptor code = jumpTarget(selector, what + "'s target");
        checkOffset(code, offset, what);
        if (call) {
            // The return address: CS (in an operand-sized slot), then the offset after the CALL.
            long sp = stackPointer();
            long newSp = sp - 2L * width;
            ByteBuffer frame = ByteBuffer.allocate(2 * width).order(ByteOrder.LITTLE_ENDIAN);
            putSlot(frame, width, next);
            putSlot(frame, width, cpu.cs);
            cpu.writeLinear(stackLinear(newSp), frame.array(), cpu.dataMode());
            setStackPointer(newSp);
        }
        enter(selector, code, offset, cpu.cpl, cpu.stackShape, what);
    }

    /** RETF / RETF imm16 (CB, CA), with REX.W in 64-bit code RETFQ. */
    void farReturn(int width, int release) {
        requireWidth(width, "RETF");
        long sp = stackPointer();
        ByteBuffer frame = ByteBuffer.wrap(cpu.readVirtual(stackLinear(sp), 2 * width)).order(ByteOrder.LITTLE_ENDIAN);
        long offset = slot(frame, width, 0);
        int selector = (int) slot(frame, width, 1) & 0xffff;
        SegmentDescriptor code = returnTarget(selector, "RETF's CS");
        int rpl = selector & 3;
        boolean into64 = code.longMode() && (cpu.control.efer() & ControlRegisters.EFER_LMA) != 0;
        long afterFrame = sp + 2L * width + release;
        if (rpl == cpu.cpl) {
            enter(selector, code, offset, rpl, cpu.stackShape, "RETF");
            setStackPointer(afterFrame);
            return;
        }
        // To an outer privilege level: the caller's SS:ESP follow the parameters released (SDM RET).
        ByteBuffer outer = ByteBuffer.wrap(cpu.readVirtual(stackLinear(afterFrame), 2 * width)).order(ByteOrder.LITTLE_ENDIAN);
        long newSp = slot(outer, width, 0);
        int newSs = (int) slot(outer, width, 1) & 0xffff;
        long stack = outerStack(newSs, rpl, into64, "RETF");
        enter(selector, code, offset, rpl, stack, "RETF");
        cpu.ss = newSs;
        cpu.stackShape = stack;
        cpu.engine.writeRegister(X86Reg.RSP, (into64 ? newSp : newSp & 0xffffffffL) + release);
    }

    private static void requireWidth(int width, String what) {
        if (width == 2) {
            throw new NotModelledException(what + " with a 16-bit operand size");
        }
    }

    // ---- the stack, as the current code uses it ------------------------------------------------------

    /** RSP in 64-bit code; ESP in 32-bit code (pml4 requires 32-bit stacks there: SS.B = 1). */
    long stackPointer() {
        long rsp = cpu.engine.readRegister(X86Reg.RSP);
        return cpu.code32 ? rsp & 0xffffffffL : rsp;
    }

    void setStackPointer(long sp) {
        cpu.engine.writeRegister(X86Reg.RSP, cpu.code32 ? sp & 0xffffffffL : sp);
    }

    /** The linear address of a stack offset: SS's base is added in 32-bit code, and the sum wraps at 4 GiB. */
    long stackLinear(long sp) {
        return cpu.code32 ? (cpu.segmentBase[2] + sp) & 0xffffffffL : sp;
    }

    static long slot(ByteBuffer b, int width, int index) {
        return width == 8 ? b.getLong(index * 8) : b.getInt(index * width) & 0xffffffffL;
    }

    static void putSlot(ByteBuffer b, int width, long value) {
        if (width == 8) {
            b.putLong(value);
        } else {
            b.putInt((int) value);
        }
    }
}
