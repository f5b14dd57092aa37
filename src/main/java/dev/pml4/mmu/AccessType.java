package dev.pml4.mmu;

/** What an access to a linear address does with it (SDM Vol. 3A 4.6: data reads, data writes, instruction fetches). */
public enum AccessType {
    /** A data read. */
    READ,
    /** A data write (including the write half of a read-modify-write). */
    WRITE,
    /** An instruction fetch. */
    FETCH
}
