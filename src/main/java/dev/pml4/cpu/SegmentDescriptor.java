package dev.pml4.cpu;

import dev.pml4.ffi.unicorn.DescriptorRegister;
import dev.pml4.ffi.unicorn.X86Reg;
import dev.pml4.mmu.AccessMode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A code- or data-segment descriptor from the GDT (SDM Vol. 3A 3.4.5, Figure 3-8; 5.2.1): present,
 * DPL, code or data, conforming, L, D/B, base, limit and the accessed flag.
 */
record SegmentDescriptor(int selector, long raw) {
    /** Bit 40 of the descriptor (type bit 0): accessed (SDM 3.4.5.1). */
    static final long ACCESSED = 1L << 40;

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

    /** S = 1 and type bit 3 clear: a data segment. */
    boolean isData() {
        return (raw >>> 44 & 1) != 0 && (raw >>> 43 & 1) == 0;
    }

    /** S = 1, a data segment with type bit 1 (writable). */
    boolean isWritableData() {
        return isData() && (raw >>> 41 & 1) != 0;
    }

    /** A data segment, or a code segment with type bit 1 (readable): what DS, ES, FS and GS may hold (SDM 5.5). */
    boolean isReadable() {
        return isData() || (isCode() && (raw >>> 41 & 1) != 0);
    }

    boolean conforming() {
        return isCode() && (raw >>> 42 & 1) != 0;
    }

    /** The L flag: a 64-bit code segment. */
    boolean longMode() {
        return (raw >>> 53 & 1) != 0;
    }

    /** The D/B flag: 32-bit default operand size for code, a 32-bit stack (ESP) for a stack segment. */
    boolean big() {
        return (raw >>> 54 & 1) != 0;
    }

    boolean accessed() {
        return (raw & ACCESSED) != 0;
    }

    /** Base bits 15:0 at 31:16, 23:16 at 39:32, 31:24 at 63:56. */
    long base() {
        return (raw >>> 16 & 0xffffff) | (raw >>> 56 & 0xff) << 24;
    }

    /** The limit in bytes: the 20-bit field, scaled by 4 KiB when G (bit 55) is set. */
    long limit() {
        long field = (raw & 0xffff) | (raw >>> 48 & 0xf) << 16;
        return (raw >>> 55 & 1) != 0 ? field << 12 | 0xfff : field;
    }

    /** "64-bit code", "32-bit code", "16-bit code", "data", "system descriptor": for messages. */
    String kind() {
        if (isCode()) {
            return longMode() ? "64-bit code" : big() ? "32-bit code" : "16-bit code";
        }
        return isData() ? "data" : String.format("system descriptor (type 0x%x)", raw >>> 40 & 0xf);
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

    /**
     * Sets the accessed flag in the GDT as the processor does when it loads a segment register
     * (SDM 3.4.5.1), so that the engine, loading the same descriptor, finds it set and writes nothing.
     */
    void markAccessed(Cpu cpu) {
        if (accessed()) {
            return;
        }
        DescriptorRegister gdtr = cpu.engine.readDescriptorRegister(X86Reg.GDTR);
        byte type = (byte) ((raw >>> 40) | 1);
        cpu.writeLinear(gdtr.base() + (selector & ~7) + 5, new byte[]{type}, AccessMode.IMPLICIT_SUPERVISOR);
    }
}
