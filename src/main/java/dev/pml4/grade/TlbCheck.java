package dev.pml4.grade;

import dev.pml4.api.Guest;

import java.util.List;

/**
 * The TLB-coherence check behind {@code stale_tlb = false}: whether a run used a translation the
 * guest's page tables no longer give. It needs the machine's TLB checker (issue 10).
 */
final class TlbCheck {
    /** False while this build has no TLB checker: a spec with stale_tlb is refused (status 2). */
    static final boolean AVAILABLE = false;

    private TlbCheck() {
    }

    /** The uses of stale entries the run made, one line each for people. */
    static List<String> findings(Guest guest) {
        throw new UnsupportedOperationException("the TLB checker is not in this build");
    }
}
