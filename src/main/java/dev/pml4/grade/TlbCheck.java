package dev.pml4.grade;

import dev.pml4.api.Guest;

import java.util.List;

/**
 * The TLB-coherence check behind {@code stale_tlb = false} (the machine's checker,
 * {@code --check-tlb}): the uses of a TLB entry whose paging-structure entries the guest changed
 * without invalidating it.
 */
final class TlbCheck {
    /** Whether this build has the checker; without it a spec with stale_tlb is refused (status 2). */
    static final boolean AVAILABLE = true;

    private TlbCheck() {
    }

    /** Every stale use the run made, each described for people (where, which entry, which write made it stale). */
    static List<String> findings(Guest guest) {
        return guest.tlbCheck().staleUses().stream().map(u -> u.describe(guest.symbols()).replaceAll("(?m)^pml4: ", "").stripTrailing()).toList();
    }
}
