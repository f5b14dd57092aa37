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

    /** The P flag (bit 0) of the entry as read. */
    public boolean present() {
        return (entryValue & 1) != 0;
    }
}
