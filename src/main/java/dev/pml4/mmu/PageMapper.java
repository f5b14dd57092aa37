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

    /**
     * Maps one page of pml4's own at {@code linear} for the engine alone, outside the TLB model (the
     * fetch fence's NOPs, the mode-switch trampoline): {@code page} is 4 KiB of host memory that
     * stays valid as long as the engine lives.
     */
    void mapOwn(long linear, MemorySegment page, int perms);

    /** Unmaps what {@link #mapOwn} mapped at {@code linear}, with any code translated from it. */
    void unmapOwn(long linear);

    /** At most this many chunks mapped in the engine at once (see {@code EngineMappingBudget}). */
    default int engineLimit() {
        return EngineMappingBudget.DEFAULT_LIMIT;
    }
}
