package dev.pml4.api;

/**
 * What a running guest does, as it happens. Every method has an empty default: implement what you
 * need. A listener only watches; nothing it does changes the run. Calls come on the thread that
 * called {@link Guest#run()}.
 */
public interface GuestListener {
    /** A byte the guest wrote to COM1. */
    default void serial(int b) {
    }

    /** An exception or interrupt was delivered through the IDT. */
    default void fault(Fault fault) {
    }

    /** The MMU walked the page tables (on a TLB miss, or to set D). */
    default void walk(Walk walk) {
    }

    /** A TLB entry was filled, or entries were invalidated. */
    default void tlb(TlbEvent event) {
    }

    /**
     * The TLB-coherence check ({@code --check-tlb}) found something: the use of a stale TLB entry,
     * a dirty flag lost, a spurious fault. {@code finding.describe(symbols)} says it for people.
     */
    default void tlbCheck(dev.pml4.mmu.TlbCheckFinding finding) {
    }
}
