package dev.pml4.mmu;

/**
 * The paging-structure levels of every paging mode, each with the linear-address bits that index it
 * and the width of its entries (SDM Vol. 3A 4.3 to 4.5). {@link PagingMode#levels()} lists a mode's
 * levels in walk order; PAE paging shares PD and PT with 4-level and 5-level paging, whose formats
 * its 8-byte entries have.
 */
public enum PagingLevel {
    /** 5-level paging's PML5 table: linear-address bits 56:48 select a PML5E (SDM 4.5, Figure 4-8). */
    PML5(48, 9, 8, "PML5E"),
    /** Page-map level 4: bits 47:39 select a PML4E. */
    PML4(39, 9, 8, "PML4E"),
    /** Page-directory-pointer table: bits 38:30 select a PDPTE. */
    PDPT(30, 9, 8, "PDPTE"),
    /**
     * PAE paging's four PDPTE registers (SDM 4.4.1): bits 31:30 select one. They are loaded from the
     * 32-byte PDPT that CR3 points to by MOV to CR3 and by the CR0/CR4 writes of 4.4.1, not read by
     * the walk; a walk step shows where the register was loaded from.
     */
    PAE_PDPT(30, 2, 8, "PDPTE"),
    /** Page directory: bits 29:21 select a PDE (PAE, 4-level and 5-level paging). */
    PD(21, 9, 8, "PDE"),
    /** Page table: bits 20:12 select a PTE (PAE, 4-level and 5-level paging). */
    PT(12, 9, 8, "PTE"),
    /** 32-bit paging's page directory: bits 31:22 select a 4-byte PDE (SDM 4.3, Figure 4-2). */
    PD_32(22, 10, 4, "PDE"),
    /** 32-bit paging's page table: bits 21:12 select a 4-byte PTE. */
    PT_32(12, 10, 4, "PTE");

    private final int shift;
    private final int indexBits;
    private final int entryBytes;
    private final String entryName;

    PagingLevel(int shift, int indexBits, int entryBytes, String entryName) {
        this.shift = shift;
        this.indexBits = indexBits;
        this.entryBytes = entryBytes;
        this.entryName = entryName;
    }

    /** The lowest linear-address bit of this level's index. */
    public int shift() {
        return shift;
    }

    /** How many linear-address bits index this level: 9, 10 (32-bit paging) or 2 (PAE's PDPTEs). */
    public int indexBits() {
        return indexBits;
    }

    /** Entries at this level: 1 << indexBits. */
    public int entries() {
        return 1 << indexBits;
    }

    /** 4 under 32-bit paging, 8 otherwise. */
    public int entryBytes() {
        return entryBytes;
    }

    /** The SDM's name for an entry of this level: "PML5E", "PML4E", "PDPTE", "PDE", "PTE". */
    public String entryName() {
        return entryName;
    }

    /** The index of the entry this level uses for a linear address. */
    public int index(long linearAddress) {
        return (int) ((linearAddress >>> shift) & (entries() - 1));
    }
}
