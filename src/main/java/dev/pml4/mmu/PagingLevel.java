package dev.pml4.mmu;

/**
 * The four paging-structure levels of four-level paging, in walk order (SDM Vol. 3A 4.5, Figure 4-8).
 * Each level is indexed by nine bits of the linear address.
 */
public enum PagingLevel {
    /** Page-map level 4: linear-address bits 47:39 select a PML4E. */
    PML4(39, "PML4E"),
    /** Page-directory-pointer table: bits 38:30 select a PDPTE. */
    PDPT(30, "PDPTE"),
    /** Page directory: bits 29:21 select a PDE. */
    PD(21, "PDE"),
    /** Page table: bits 20:12 select a PTE. */
    PT(12, "PTE");

    private final int shift;
    private final String entryName;

    PagingLevel(int shift, String entryName) {
        this.shift = shift;
        this.entryName = entryName;
    }

    /** The lowest linear-address bit of this level's 9-bit index. */
    public int shift() {
        return shift;
    }

    /** The SDM's name for an entry of this level: "PML4E", "PDPTE", "PDE", "PTE". */
    public String entryName() {
        return entryName;
    }

    /** The index (0..511) of the entry this level uses for a linear address. */
    public int index(long linearAddress) {
        return (int) ((linearAddress >>> shift) & 0x1ff);
    }
}
