package dev.pml4.mmu;

/**
 * The access rights of a translation, combined over every paging-structure entry that controls it
 * (SDM Vol. 3A 4.6.1).
 *
 * @param writable   R/W=1 in every entry
 * @param user       U/S=1 in every entry: the page is a "user-mode address" in the SDM's terms
 * @param executable XD=0 in every entry, or IA32_EFER.NXE=0
 */
public record PageRights(boolean writable, boolean user, boolean executable) {
    /** Everything allowed, as when paging is off. */
    public static final PageRights FULL = new PageRights(true, true, true);
}
