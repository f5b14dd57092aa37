package dev.pml4.api;

import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbEntry;

import java.util.List;

/**
 * The TLB changed: a walk's translation was cached ({@code FILL}, with the entries it pushed out
 * in {@code evicted}), or entries were removed by INVLPG, a CR3 or CR4 write, INVPCID or a #PF
 * ({@code INVALIDATE}, the instruction or event in {@code cause}).
 *
 * @param tlb     the TLB filled (ITLB or DTLB); null for an invalidation, which may span both
 * @param entries the entry filled, or the entries invalidated
 */
public record TlbEvent(Kind kind, Tlb.Kind tlb, List<TlbEntry> entries, List<TlbEntry> evicted, String cause) {
    public enum Kind { FILL, INVALIDATE }

    public TlbEvent {
        entries = List.copyOf(entries);
        evicted = List.copyOf(evicted);
    }
}
