package dev.pml4.api;

import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.PageFault;
import dev.pml4.mmu.PageRights;
import dev.pml4.mmu.PageSize;
import dev.pml4.mmu.PagingLevel;
import dev.pml4.mmu.Translation;
import dev.pml4.mmu.WalkResult;
import dev.pml4.mmu.WalkStep;

import java.util.List;
import java.util.Optional;

/**
 * One page walk of a linear address (SDM Vol. 3A 4.5): the entries read, and where it ended.
 *
 * @param address    the linear address walked
 * @param access     read, write or fetch
 * @param user       a user-mode access (CPL 3)
 * @param steps      the entries read, in walk order, the faulting one included
 * @param translated true when the walk found a page that allows the access
 * @param physical   the physical address (when translated)
 * @param size       the page size (when translated)
 * @param rights     the rights combined over every level (when translated)
 * @param errorCode  the #PF error code (when not translated), else -1
 * @param reason     why it faulted, for people (when not translated), else ""
 */
public record Walk(long address, AccessType access, boolean user, List<WalkStep> steps, boolean translated,
                   long physical, PageSize size, PageRights rights, int errorCode, String reason) {
    public Walk {
        steps = List.copyOf(steps);
    }

    static Walk of(WalkResult result, AccessType access, boolean user) {
        return switch (result) {
            case Translation t -> new Walk(t.linearAddress(), access, user, t.steps(), true, t.physicalAddress(), t.size(),
                    t.rights(), -1, "");
            case PageFault f -> new Walk(f.linearAddress(), access, user, f.steps(), false, 0, null, null, f.errorCode(),
                    f.reason());
        };
    }

    /** The entry this walk read at {@code level}, if it got that far. */
    public Optional<WalkStep> step(PagingLevel level) {
        return steps.stream().filter(s -> s.level() == level).findFirst();
    }

    /** The last entry read: the leaf of a translation, or the entry that faulted. */
    public Optional<WalkStep> last() {
        return steps.isEmpty() ? Optional.empty() : Optional.of(steps.getLast());
    }

    /**
     * The rights as {@code pml4 pt} prints them: "RW" or "RO", "U" or "S", "X" or "NX", space
     * separated; empty when the walk faulted.
     */
    public String rightsText() {
        if (!translated) {
            return "";
        }
        return (rights.writable() ? "RW" : "RO") + (rights.user() ? " U" : " S") + (rights.executable() ? " X" : " NX");
    }
}
