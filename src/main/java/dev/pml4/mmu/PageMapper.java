package dev.pml4.mmu;

import java.lang.foreign.MemorySegment;

/**
 * Where resident translations become real: the execution engine's own address space (Unicorn's,
 * in the machine). Kept as an interface so that the TLB and mapping rules are testable alone.
 * Addresses and sizes are 4 KiB aligned.
 */
public interface PageMapper {
    /** Maps {@code [linear, linear + size)} onto RAM. {@code perms} are Unicorn's r/w/x bits. */
    void mapRam(long linear, long size, int perms, MemorySegment frames);

    /** Maps {@code [linear, linear + size)} onto physical addresses with nothing behind them, starting at {@code physical}. */
    void mapHole(long linear, long size, long physical);

    void protect(long linear, long size, int perms);

    void unmap(long linear, long size);
}
