package dev.pml4.mmu;

import java.util.List;
import java.util.Objects;

/**
 * A successful walk: where a linear address lives and what may be done with its page.
 *
 * @param linearAddress   the address translated, all 64 bits as given
 * @param physicalAddress frameBase + the offset of the linear address within its page
 * @param pageBase        the linear address aligned down to {@code size} (all 64 bits kept)
 * @param frameBase       the physical address of the page, aligned to {@code size}
 * @param size            4 KiB, 2 MiB or 1 GiB
 * @param rights          the rights combined over every level (SDM 4.6.1)
 * @param global          the G flag (bit 8) of the leaf entry as read; it means "global" only while
 *                        CR4.PGE=1 (SDM 4.10.2.4), which is the TLB's business, not the walker's
 * @param dirty           the D flag of the leaf after this walk: true after a write by
 *                        {@link PageWalker#translate}; as found in memory otherwise (and always
 *                        for {@link PageWalker#probe}, which writes nothing). True when paging is
 *                        off: there is no dirty flag to set, so a write never needs another walk.
 * @param steps           the entries read, in walk order (empty when paging is off)
 */
public record Translation(long linearAddress, long physicalAddress, long pageBase, long frameBase,
                          PageSize size, PageRights rights, boolean global, boolean dirty,
                          List<WalkStep> steps) implements WalkResult {
    public Translation {
        Objects.requireNonNull(size, "size");
        Objects.requireNonNull(rights, "rights");
        steps = List.copyOf(steps);
    }
}
