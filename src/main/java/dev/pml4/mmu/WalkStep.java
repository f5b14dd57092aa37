package dev.pml4.mmu;

/**
 * One paging-structure entry read during a walk.
 *
 * @param level        the structure the entry belongs to
 * @param entryAddress the physical address of the 8-byte entry
 * @param entryValue   the entry as read, before this walk set any accessed or dirty flag
 */
public record WalkStep(PagingLevel level, long entryAddress, long entryValue) {
    public WalkStep {
        java.util.Objects.requireNonNull(level, "level");
    }

    /**
     * False for PAE paging's PDPTE registers: {@code entryAddress} is where the register was loaded
     * from, and a later write there changes no translation until the registers are loaded again
     * (SDM 4.4.1). Whoever tracks which memory a TLB entry depends on (a TLB-coherence check)
     * must leave these steps out, and treat a register load as the event instead.
     */
    public boolean inMemory() {
        return level != PagingLevel.PAE_PDPT;
    }

    /** The P flag (bit 0) of the entry as read. */
    public boolean present() {
        return (entryValue & 1) != 0;
    }
}
