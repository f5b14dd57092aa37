package dev.pml4.mmu;

/**
 * What a TLB caches for one page (SDM Vol. 3A 4.10.2.2): the translation, the page size, the
 * access rights combined across every level of the walk, whether the entry is global, the PCID
 * it was filled under, and whether the leaf's dirty flag was already set (a write through a clean
 * entry must walk again to set it, SDM 4.8).
 */
public record TlbEntry(long pageBase, long frameBase, PageSize size, PageRights rights, boolean global, int pcid,
                       boolean dirty) {

    public boolean covers(long linearAddress) {
        return (linearAddress & ~size.offsetMask()) == pageBase;
    }

    /** The physical address this entry gives {@code linearAddress} (which it must cover). */
    public long physicalAddress(long linearAddress) {
        return frameBase + (linearAddress & size.offsetMask());
    }

    public long end() {
        return pageBase + size.bytes();
    }

    public static TlbEntry of(Translation t, boolean global, int pcid) {
        return new TlbEntry(t.pageBase(), t.frameBase(), t.size(), t.rights(), global, pcid, t.dirty());
    }
}
