package dev.pml4.grade;

import dev.pml4.api.Guest;

import java.util.List;

/**
 * What {@code stale_tlb = false} checks, from the machine's TLB-coherence checker
 * ({@code --check-tlb}): the uses of a TLB entry whose paging-structure entries the guest changed
 * without invalidating it.
 */
final class TlbCheck {
    private TlbCheck() {
    }

    /** Every stale use the run made, each described for people (where, which entry, which write made it stale). */
    static List<String> staleUses(Guest guest) {
        return guest.tlbCheck().staleUses().stream().map(u -> u.describe(guest.symbols()).replaceAll("(?m)^pml4: ", "").stripTrailing()).toList();
    }
}
