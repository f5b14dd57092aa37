package dev.pml4.mmu;

/**
 * The sizes of page that four-level paging can map (SDM Vol. 3A 4.5): a PTE maps 4 KiB, a PDE with
 * PS=1 maps 2 MiB, a PDPTE with PS=1 maps 1 GiB.
 */
public enum PageSize {
    SIZE_4K(12),
    SIZE_2M(21),
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
            case SIZE_1G -> "1 GiB";
        };
    }
}
