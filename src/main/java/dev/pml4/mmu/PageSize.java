package dev.pml4.mmu;

/**
 * The sizes of page the paging modes can map: a PTE maps 4 KiB in every mode; a PDE with PS=1 maps
 * 4 MiB under 32-bit paging (SDM Vol. 3A 4.3, with CR4.PSE=1) and 2 MiB under PAE, 4-level and
 * 5-level paging (4.4, 4.5); a PDPTE with PS=1 maps 1 GiB under 4-level and 5-level paging.
 */
public enum PageSize {
    SIZE_4K(12),
    SIZE_2M(21),
    SIZE_4M(22),
    SIZE_1G(30);

    private final int shift;

    PageSize(int shift) {
        this.shift = shift;
    }

    /** log2 of the size: the number of low linear-address bits that are the page offset. */
    public int shift() {
        return shift;
    }

    public long bytes() {
        return 1L << shift;
    }

    /** The bits of an address that are the offset within a page of this size. */
    public long offsetMask() {
        return bytes() - 1;
    }

    /** "4 KiB", "2 MiB", "1 GiB". */
    public String label() {
        return switch (this) {
            case SIZE_4K -> "4 KiB";
            case SIZE_2M -> "2 MiB";
            case SIZE_4M -> "4 MiB";
            case SIZE_1G -> "1 GiB";
        };
    }
}
