package dev.pml4.mmu;

import dev.pml4.machine.SymbolTable;

import java.util.List;
import java.util.Locale;

/**
 * What the TLB-coherence checker ({@link TlbCoherenceChecker}) found: a stale use, a dirty flag
 * cleared under a dirty TLB entry, or a spurious page fault after rights were granted. Each says
 * which guest write to which paging-structure entry caused it.
 */
public sealed interface TlbCheckFinding {
    /** Instruction number (1-based) and RIP of the access the finding is about. */
    long instruction();

    long rip();

    /** The finding for people, as pml4 prints it on standard error (lines end in '\n'). */
    String describe(SymbolTable symbols);

    /**
     * A guest write that changed a paging-structure entry a resident TLB entry was built from.
     *
     * @param instruction the writing instruction's number
     * @param rip         its RIP
     * @param level       the paging-structure level of the entry written
     * @param entryAddress the physical address of the 8-byte entry
     * @param oldValue    the entry before the write
     * @param newValue    the entry after it
     * @param change      what changed that matters to the cached translation, e.g. "frame 0x10c000 -> 0x10d000"
     */
    record EntryWrite(long instruction, long rip, PagingLevel level, long entryAddress, long oldValue, long newValue,
                      String change) {
        String describe(SymbolTable symbols) {
            return String.format("instruction %d at RIP %s: %s at 0x%x 0x%x -> 0x%x (%s)", instruction,
                    where(rip, symbols), level.entryName(), entryAddress, oldValue, newValue, change);
        }
    }

    /**
     * The first access through a TLB entry whose paging-structure entries have changed in a way
     * that matters (SDM Vol. 3A 4.10.4.2: software should have invalidated it), while the entry was
     * still resident.
     *
     * @param access  read, write or fetch
     * @param linear  the address accessed
     * @param tlb     which TLB held the entry
     * @param entry   what the TLB gave
     * @param fresh   what a walk gives now (a probe: no A/D set)
     * @param write   the guest write that made the entry stale
     * @param hints   what may have gone wrong (an INVLPG of a nearby address, a global entry kept by
     *                MOV to CR3, a PCID kept by the no-flush bit)
     */
    record StaleUse(long instruction, long rip, AccessType access, long linear, Tlb.Kind tlb, TlbEntry entry,
                    WalkResult fresh, EntryWrite write, List<String> hints) implements TlbCheckFinding {
        public StaleUse {
            hints = List.copyOf(hints);
        }

        @Override
        public String describe(SymbolTable symbols) {
            StringBuilder out = new StringBuilder();
            out.append(String.format("pml4: stale TLB entry used: instruction %d at RIP %s: %s of 0x%x%n", instruction,
                    where(rip, symbols), access.name().toLowerCase(Locale.ROOT), linear));
            out.append(String.format("pml4:   the %s gave %s%n", tlb == Tlb.Kind.INSTRUCTION ? "ITLB" : "DTLB", describeEntry(entry, linear)));
            out.append("pml4:   a fresh walk gives ").append(describeWalk(fresh)).append('\n');
            out.append("pml4:   made stale by ").append(write.describe(symbols)).append(", not invalidated since\n");
            for (String h : hints) {
                out.append("pml4:   hint: ").append(h).append('\n');
            }
            return out.toString();
        }
    }

    /**
     * A write through a TLB entry that holds its page as dirty, after the guest cleared the leaf's
     * D flag without invalidating it: the processor does not set D again (SDM 4.8), so a pager that
     * looks at D loses this write.
     */
    record DirtyBitLost(long instruction, long rip, long linear, TlbEntry entry, EntryWrite write) implements TlbCheckFinding {
        @Override
        public String describe(SymbolTable symbols) {
            return String.format("pml4: warning: dirty flag lost: instruction %d at RIP %s writes 0x%x through a TLB entry that holds"
                            + " the page as dirty (%s), but D was cleared by %s without an invalidation: D stays 0 (SDM 4.8)%n",
                    instruction, where(rip, symbols), linear, describeEntry(entry, linear), write.describe(symbols));
        }
    }

    /**
     * A page fault that the cached rights gave although the paging structures now grant the
     * access: software granted rights without invalidating, which the SDM allows (4.10.4.3); the
     * fault invalidates the entry and the handler's retry succeeds. A note, never an error.
     */
    record SpuriousFault(long instruction, long rip, AccessType access, long linear, TlbEntry entry, EntryWrite write)
            implements TlbCheckFinding {
        @Override
        public String describe(SymbolTable symbols) {
            return String.format("pml4: note: spurious page fault (SDM 4.10.4.3 allows it): instruction %d at RIP %s: %s of 0x%x"
                            + " refused by the cached rights (%s); rights granted without an invalidation by %s%n",
                    instruction, where(rip, symbols), access.name().toLowerCase(Locale.ROOT), linear, describeEntry(entry, linear),
                    write.describe(symbols));
        }
    }

    /** Counts over a run. */
    record Summary(long staleUses, long dirtyBitWarnings, long spuriousFaults) {
        public String describe() {
            return String.format("pml4: tlb check: %d stale use%s, %d dirty-bit warning%s, %d spurious page fault%s%n",
                    staleUses, staleUses == 1 ? "" : "s", dirtyBitWarnings, dirtyBitWarnings == 1 ? "" : "s",
                    spuriousFaults, spuriousFaults == 1 ? "" : "s");
        }
    }

    /**
     * Everything the checker found in a run, for programs (the grader, lab tests).
     *
     * @param enabled  whether the check ran at all (--check-tlb, {@code Machine.checkTlb})
     * @param findings in the order they happened
     */
    record Report(boolean enabled, List<TlbCheckFinding> findings) {
        public Report {
            findings = List.copyOf(findings);
        }

        public List<StaleUse> staleUses() {
            return findings.stream().filter(StaleUse.class::isInstance).map(StaleUse.class::cast).toList();
        }

        public List<DirtyBitLost> dirtyBitWarnings() {
            return findings.stream().filter(DirtyBitLost.class::isInstance).map(DirtyBitLost.class::cast).toList();
        }

        public List<SpuriousFault> spuriousFaults() {
            return findings.stream().filter(SpuriousFault.class::isInstance).map(SpuriousFault.class::cast).toList();
        }

        public Summary summary() {
            return new Summary(staleUses().size(), dirtyBitWarnings().size(), spuriousFaults().size());
        }
    }

    private static String where(long rip, SymbolTable symbols) {
        return String.format("0x%x", rip) + symbols.describe(rip).map(s -> " <" + s + ">").orElse("");
    }

    /** "4 KiB page 0x8000000000 -> frame 0x10c000 (physical 0x10c008), RW S X, pcid 0". */
    static String describeEntry(TlbEntry e, long linear) {
        return String.format("%s page 0x%x -> frame 0x%x (physical 0x%x), %s%s", e.size().label(), e.pageBase(), e.frameBase(),
                e.physicalAddress(linear), rights(e.rights()), (e.global() ? ", global" : "") + (e.dirty() ? ", dirty" : "")
                        + ", pcid " + e.pcid());
    }

    static String rights(PageRights r) {
        return (r.writable() ? "RW" : "RO") + (r.user() ? " U" : " S") + (r.executable() ? " X" : " NX");
    }

    private static String describeWalk(WalkResult r) {
        if (r instanceof Translation t) {
            return String.format("%s page 0x%x -> frame 0x%x (physical 0x%x), %s", t.size().label(), t.pageBase(), t.frameBase(),
                    t.physicalAddress(), rights(t.rights()));
        }
        PageFault f = (PageFault) r;
        return String.format("#PF(0x%x): %s", f.errorCode(), f.reason());
    }
}
