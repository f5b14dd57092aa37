package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.X86Reg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Loads of the data and stack segment registers: MOV Sreg, POP Sreg, LDS/LES/LSS/LFS/LGS (SDM Vol.
 * 2B MOV "IF SS is loaded" and "IF DS, ES, FS, or GS is loaded", POP, Vol. 2A LDS/LES/LFS/LGS/LSS).
 * Java makes the checks, so that the engine never raises #GP, #NP or #SS itself (DESIGN.md fact 1),
 * and sets the descriptor's accessed flag as the processor does. Then:
 * <ul>
 *   <li>DS, ES, FS, GS: the engine runs the instruction (it cannot fail now), which loads the
 *       descriptor's base where 32-bit code and FS:/GS: use it;</li>
 *   <li>SS: Java keeps it (the engine's SS stays a CPL 0 one, since the engine's CPL is its SS's
 *       DPL); in 32-bit code a stack of another shape (B flag, base) makes the engine reload its own
 *       SS through {@link CodeSegments#load}.</li>
 * </ul>
 */
final class SegmentLoads {
    static final int ES = 0;
    static final int CS = 1;
    static final int SS = 2;
    static final int DS = 3;
    static final int FS = 4;
    static final int GS = 5;
    private static final String[] NAMES = {"ES", "CS", "SS", "DS", "FS", "GS"};

    private final Cpu cpu;
    private final SystemInstructions system;

    SegmentLoads(Cpu cpu, SystemInstructions system) {
        this.cpu = cpu;
        this.system = system;
    }

    /** MOV Sreg, r/m16 (8E /r). */
    void mov(long rip, long next, int modrm, boolean rexB) {
        int sreg = (modrm >> 3) & 7;
        if (sreg == CS || sreg > GS) {
            throw ArchitecturalException.ud("MOV to " + (sreg == CS ? "CS" : "segment register " + sreg));
        }
        int selector;
        if ((modrm >> 6) == 3) {
            selector = (int) system.readGpr((modrm & 7) | (rexB ? 8 : 0)) & 0xffff;
        } else {
            byte[] b = cpu.readVirtual(system.effectiveAddress(rip), 2);
            selector = (b[0] & 0xff) | (b[1] & 0xff) << 8;
        }
        if (sreg == SS) {
            commitStack(selector, checkStack(selector, "MOV SS"), next);
        } else {
            load(sreg, selector, "MOV " + NAMES[sreg]);
        }
    }

    /** POP ES/SS/DS (07, 17, 1F: 32-bit code only) and POP FS/GS (0F A1, 0F A9). */
    void pop(long next, int sreg, int width) {
        FarTransfers far = system.far();
        if (width == 2) {
            throw new NotModelledException("POP " + NAMES[sreg] + " with a 16-bit operand size");
        }
        long sp = far.stackPointer();
        byte[] b = cpu.readVirtual(far.stackLinear(sp), 2);
        int selector = (b[0] & 0xff) | (b[1] & 0xff) << 8;
        if (sreg == SS) {
            long shape = checkStack(selector, "POP SS");
            far.setStackPointer(sp + width);
            commitStack(selector, shape, next);
        } else {
            load(sreg, selector, "POP " + NAMES[sreg]);
        }
    }

    /** LDS, LES (C5, C4: 32-bit code only), LSS, LFS, LGS (0F B2, B4, B5): a far pointer, offset first. */
    void loadFarPointer(long rip, long next, int sreg, int modrm, int width, boolean rexR) {
        String what = "L" + NAMES[sreg];
        if ((modrm >> 6) == 3) {
            throw ArchitecturalException.ud(what + " with a register source");
        }
        if (width == 2) {
            throw new NotModelledException(what + " with a 16-bit operand size");
        }
        ByteBuffer b = ByteBuffer.wrap(cpu.readVirtual(system.effectiveAddress(rip), width + 2)).order(ByteOrder.LITTLE_ENDIAN);
        long offset = width == 8 ? b.getLong(0) : b.getInt(0) & 0xffffffffL;
        int selector = b.getShort(width) & 0xffff;
        if (sreg == SS) {
            long shape = checkStack(selector, what);
            int reg = ((modrm >> 3) & 7) | (rexR ? 8 : 0);
            cpu.engine.writeRegister(X86Reg.GPR_BY_ENCODING[reg], offset);
            commitStack(selector, shape, next);
        } else {
            load(sreg, selector, what);
        }
    }

    /** DS, ES, FS, GS: the checks, the accessed flag, and Java's record of the base. */
    private void load(int sreg, int selector, String what) {
        if ((selector & ~3) == 0) {
            if (sreg <= DS) {
                cpu.segmentBase[sreg] = 0;
            }
            return; // a null selector loads; using it later faults (#GP), which the engine does not check
        }
        SegmentDescriptor d = SegmentDescriptor.read(cpu, selector, 0, what);
        if (!d.isReadable()) {
            throw new ArchitecturalException(ArchitecturalException.GP, selector & ~3, 0, String.format(
                    "%s, 0x%x: a %s, not a data or readable code segment", what, selector, d.kind()));
        }
        if ((d.isData() || !d.conforming()) && ((selector & 3) > d.dpl() || cpu.cpl > d.dpl())) {
            throw new ArchitecturalException(ArchitecturalException.GP, selector & ~3, 0, String.format(
                    "%s, 0x%x: DPL %d is below RPL %d or CPL %d", what, selector, d.dpl(), selector & 3, cpu.cpl));
        }
        if (!d.present()) {
            throw new ArchitecturalException(ArchitecturalException.NP, selector & ~3, 0, String.format(
                    "%s, 0x%x: not present", what, selector));
        }
        d.markAccessed(cpu);
        if (sreg <= DS) {
            cpu.segmentBase[sreg] = d.base();
        }
        // The engine runs the instruction now: its own load of this descriptor cannot fault.
    }

    /** The checks of a load of SS; returns the descriptor 32-bit code will use. */
    private long checkStack(int selector, String what) {
        long shape;
        if ((selector & ~3) == 0) {
            // 64-bit mode allows a null SS below CPL 3 with RPL = CPL (SDM Vol. 2B MOV).
            boolean mode64 = !cpu.code32 && (cpu.control.efer() & ControlRegisters.EFER_LMA) != 0;
            if (!mode64 || cpu.cpl == 3 || (selector & 3) != cpu.cpl) {
                throw ArchitecturalException.gp(what + " of a null selector at CPL " + cpu.cpl + " in " + cpu.processorMode());
            }
            shape = ModeSwitch.FLAT_DATA_32;
        } else {
            SegmentDescriptor d = SegmentDescriptor.read(cpu, selector, 0, what);
            if ((selector & 3) != cpu.cpl || d.dpl() != cpu.cpl || !d.isWritableData()) {
                throw new ArchitecturalException(ArchitecturalException.GP, selector & ~3, 0, String.format(
                        "%s, 0x%x: not a writable data segment with RPL = DPL = CPL %d", what, selector, cpu.cpl));
            }
            if (!d.present()) {
                throw new ArchitecturalException(ArchitecturalException.SS, selector & ~3, 0, String.format("%s, 0x%x: not present", what, selector));
            }
            if (cpu.code32 && !d.big()) {
                throw new NotModelledException(String.format("%s, 0x%x: a 16-bit stack segment (B = 0)", what, selector));
            }
            d.markAccessed(cpu);
            shape = d.raw() | SegmentDescriptor.ACCESSED;
        }
        return shape;
    }

    /** SS is the guest's now; execution goes on at {@code next}. */
    private void commitStack(int selector, long shape, long next) {
        cpu.ss = selector;
        cpu.segmentBase[SS] = (selector & ~3) == 0 ? 0 : new SegmentDescriptor(selector, shape).base();
        if (shape != cpu.stackShape && cpu.code32) {
            cpu.stackShape = shape;
            cpu.codeSegments.reloadStack(next); // the engine's SS must take the new B flag and base
        } else {
            cpu.stackShape = shape;
            cpu.engine.writeRegister(X86Reg.RIP, next);
        }
    }
}
