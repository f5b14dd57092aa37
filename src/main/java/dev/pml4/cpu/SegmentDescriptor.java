package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.DescriptorRegister;
import dev.pml4.ffi.unicorn.X86Reg;
import dev.pml4.mmu.AccessMode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A code- or data-segment descriptor from the GDT, as far as 64-bit mode looks at it (SDM Vol. 3A
 * 3.4.5, 5.2.1): present, DPL, code or data, conforming, L.
 */
record SegmentDescriptor(int selector, long raw) {
    boolean present() {
        return (raw >>> 47 & 1) != 0;
    }

    int dpl() {
        return (int) (raw >>> 45) & 3;
    }

    /** S = 1 (code or data) and type bit 3 (code). */
    boolean isCode() {
        return (raw >>> 44 & 1) != 0 && (raw >>> 43 & 1) != 0;
    }

    /** S = 1, a data segment with type bit 1 (writable). */
    boolean isWritableData() {
        return (raw >>> 44 & 1) != 0 && (raw >>> 43 & 1) == 0 && (raw >>> 41 & 1) != 0;
    }

    boolean conforming() {
        return isCode() && (raw >>> 42 & 1) != 0;
    }

    /** The L flag: a 64-bit code segment. */
    boolean longMode() {
        return (raw >>> 53 & 1) != 0;
    }

    /**
     * Reads the descriptor {@code selector} names, as the processor does (an implicit supervisor
     * access). A null selector, one beyond the GDT limit or one in an LDT raises #GP(selector).
     */
    static SegmentDescriptor read(Cpu cpu, int selector, int ext, String what) {
        int error = (selector & ~3) | ext;
        if ((selector & ~3) == 0) {
            throw new ArchitecturalException(ArchitecturalException.GP, ext, 0, what + " is the null selector");
        }
        if ((selector & 4) != 0) {
            throw new ArchitecturalException(ArchitecturalException.GP, error, 0, String.format(
                    "%s 0x%x names the LDT, which pml4 does not model", what, selector));
        }
        DescriptorRegister gdtr = cpu.engine.readDescriptorRegister(X86Reg.GDTR);
        int index = selector & ~7;
        if (index + 7 > gdtr.limit()) {
            throw new ArchitecturalException(ArchitecturalException.GP, error, 0, String.format(
                    "%s 0x%x lies beyond the GDT limit 0x%x", what, selector, gdtr.limit()));
        }
        byte[] bytes = cpu.readLinear(gdtr.base() + index, 8, AccessMode.IMPLICIT_SUPERVISOR);
        return new SegmentDescriptor(selector, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong());
    }
}
