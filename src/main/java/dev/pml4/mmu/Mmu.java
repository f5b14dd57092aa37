package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The memory-management unit as the CPU sees it: TLB lookups, page walks on a miss, the #PF
 * decision, and the invalidations the SDM attaches to INVLPG and control-register writes. It keeps
 * the engine's mappings equal to the resident TLB entries through {@link ResidentMappings}.
 */
public final class Mmu {
    /** Outcome of {@link #access}: {@code null} fault means the access may be retried. */
    public record AccessResult(PageFault fault, boolean nonexistentMemory, long physicalAddress) {
        static final AccessResult OK = new AccessResult(null, false, 0);
    }

    /** Observers of what the MMU does (the tracer); never steers. */
    public interface Listener {
        default void walked(Tlb.Kind kind, AccessType type, WalkResult result) {
        }

        default void invalidated(String cause, List<TlbEntry> entries) {
        }

        /** A walk's translation was cached; {@code evicted} are the entries it pushed out (LRU or overlap). */
        default void filled(Tlb.Kind kind, TlbEntry entry, List<TlbEntry> evicted) {
        }
    }

    private final PhysicalMemory memory;
    private final PageWalker walker;
    private final Tlb tlb;
    private final ResidentMappings mappings;
    private Listener listener = new Listener() {
    };
    private long walks;
    private final long[] walksByKind = new long[Tlb.Kind.values().length];
    private long pageFaults;
    /**
     * Pages mapped for an access although the TLB kept no entry for them (a page size the
     * {@link TlbConfig} gives no room): page base to end. No invalidation can find them in the TLB,
     * so every invalidation unmaps all of them; otherwise the engine would go on using such a
     * translation after INVLPG or MOV to CR3, which the SDM forbids (4.10.4.1).
     */
    private final TreeMap<Long, Long> unheld = new TreeMap<>();
    /** The TLB-coherence checker (--check-tlb), or null: nothing of it runs when it is off. */
    private TlbCoherenceChecker checker;

    public Mmu(PhysicalMemory memory, PageWalker walker, Tlb tlb, PageMapper mapper) {
        this.memory = memory;
        this.walker = walker;
        this.tlb = tlb;
        this.mappings = new ResidentMappings(memory, mapper);
    }

    public void setListener(Listener listener) {
        this.listener = listener;
    }

    public Tlb tlb() {
        return tlb;
    }

    /** Turns the TLB-coherence checker on; call before anything is cached. */
    void setChecker(TlbCoherenceChecker checker) {
        this.checker = checker;
    }

    /** The TLB-coherence checker, or null when it is off. */
    public TlbCoherenceChecker checker() {
        return checker;
    }

    public PageWalker walker() {
        return walker;
    }

    public ResidentMappings mappings() {
        return mappings;
    }

    public long walks() {
        return walks;
    }

    /** Page walks made to fill (or to set D through) one TLB. */
    public long walks(Tlb.Kind kind) {
        return walksByKind[kind.ordinal()];
    }

    public long pageFaults() {
        return pageFaults;
    }

    /** The PCID that tags new entries and selects cached ones (SDM 4.10.1): CR3[11:0] when CR4.PCIDE = 1, else 0. */
    public static int currentPcid(PagingState state) {
        return state.pcide() ? (int) (state.cr3() & 0xfff) : 0;
    }

    /**
     * Makes an access the engine could not do possible, or says why it faults. Every 4 KiB page the
     * access touches is translated: from the TLB if it has the page, else by a walk whose result is
     * cached. A write through an entry whose dirty flag is clear walks again to set it (SDM 4.8).
     */
    public AccessResult access(long address, int size, AccessType type, AccessMode mode, PagingState state) {
        long first = address & ~0xfffL;
        long last = (address + Math.max(size, 1) - 1) & ~0xfffL;
        for (long page = first; ; page += PhysicalMemory.PAGE_SIZE) {
            long linear = page == first ? address : page;
            AccessResult r = accessPage(linear, type, mode, state, true);
            if (r.fault() != null || r.nonexistentMemory()) {
                return r;
            }
            if (page == last) {
                return AccessResult.OK;
            }
        }
    }

    /**
     * An access the processor makes on its own behalf, emulated in Java (descriptor tables, the
     * TSS, the frame an exception pushes, an INVPCID descriptor): translated through the TLB as
     * the engine's accesses are, A and D included, but not mapped into the engine, so that what
     * a supervisor-mode access fills never becomes reachable from user mode.
     *
     * @return the physical address of {@code linear} in {@link AccessResult#physicalAddress()}, or
     *         the fault; the access must not cross a page boundary
     */
    public AccessResult translate(long linear, AccessType type, AccessMode mode, PagingState state) {
        return accessPage(linear, type, mode, state, false);
    }

    private AccessResult accessPage(long linear, AccessType type, AccessMode mode, PagingState state, boolean map) {
        if (state.mode() == PagingMode.NONE) {
            return unpaged(linear, type, mode, state, map);
        }
        Tlb.Kind kind = type == AccessType.FETCH ? Tlb.Kind.INSTRUCTION : Tlb.Kind.DATA;
        int pcid = currentPcid(state);
        TlbEntry entry = tlb.lookup(kind, linear, pcid);
        if (entry != null) {
            int error = AccessRights.check(entry.rights(), type, mode, state);
            if (checker != null) {
                checker.used(kind, entry, linear, type, mode, state, error != 0);
            }
            if (error != 0) {
                // The cached rights refuse the access: #PF from the TLB entry, which the fault then
                // invalidates (SDM 4.10.4.1, "page-fault exceptions").
                invalidate("#PF", tlb.invalidateAddress(linear, pcid, true));
                pageFaults++;
                return new AccessResult(new PageFault(linear, error, "cached translation refuses the access (" +
                        PageFaultErrorCode.describe(error) + ")", List.of()), false, 0);
            }
            if (type == AccessType.WRITE && !entry.dirty()) {
                entry = refill(kind, linear, type, mode, state, pcid);
                if (entry == null) {
                    return lastFault;
                }
            }
        } else {
            entry = refill(kind, linear, type, mode, state, pcid);
            if (entry == null) {
                return lastFault;
            }
        }
        long physical = entry.physicalAddress(linear);
        if (type == AccessType.FETCH && !memory.isRam(physical, 1)) {
            return new AccessResult(null, true, physical);
        }
        if (!map) {
            return new AccessResult(null, false, physical); // a hole reads all-ones through PhysicalMemory
        }
        install(linear, kind, entry, mode, state, pcid);
        if (checker != null && type == AccessType.WRITE) {
            checker.guestWrite(linear, physical);
        }
        return AccessResult.OK;
    }

    private AccessResult lastFault;

    /**
     * Paging off: the walker's identity (linear = physical), and nothing cached: TLBs hold
     * translations that paging made (SDM 4.10.2), so no walk is counted and no entry filled. The
     * engine maps up to a 1 GiB-aligned run per miss (ResidentMappings shrinks it to 2 MiB or 4 KiB
     * runs of RAM or of hole), which keeps Unicorn's region count low (DESIGN.md fact 13). The runs
     * are {@link #unheld}: enabling paging (a TLB flush) or any invalidation unmaps them.
     */
    private AccessResult unpaged(long linear, AccessType type, AccessMode mode, PagingState state, boolean map) {
        Translation t = (Translation) walker.translate(linear, type, mode, state);
        long physical = t.physicalAddress();
        if (type == AccessType.FETCH && !memory.isRam(physical, 1)) {
            return new AccessResult(null, true, physical);
        }
        if (!map) {
            return new AccessResult(null, false, physical);
        }
        long base = linear & ~PageSize.SIZE_1G.offsetMask();
        TlbEntry run = TlbEntry.of(new Translation(linear, physical, base, base, PageSize.SIZE_1G, t.rights(), false, true, List.of()),
                false, 0);
        mappings.install(linear, run, run, ResidentMappings.READ | ResidentMappings.WRITE | ResidentMappings.EXEC);
        ResidentMappings.Chunk chunk = mappings.chunkAt(linear);
        unheld.put(chunk.linear(), chunk.end());
        return AccessResult.OK;
    }

    /** Walks, and on success caches the translation (replacing any entry for the page); null on a fault, with {@link #lastFault} set. */
    private TlbEntry refill(Tlb.Kind kind, long linear, AccessType type, AccessMode mode, PagingState state, int pcid) {
        walks++;
        walksByKind[kind.ordinal()]++;
        WalkResult result = walker.translate(linear, type, mode, state);
        listener.walked(kind, type, result);
        if (result instanceof PageFault fault) {
            invalidate("#PF", tlb.invalidateAddress(linear, pcid, true));
            pageFaults++;
            lastFault = new AccessResult(fault, false, 0);
            return null;
        }
        Translation t = (Translation) result;
        TlbEntry entry = TlbEntry.of(t, t.global() && state.pge(), pcid);
        List<TlbEntry> evicted = tlb.fill(kind, entry);
        for (TlbEntry gone : evicted) {
            mappings.removeRange(gone.pageBase(), gone.end());
        }
        if (checker != null) {
            checker.removed(evicted);
            if (tlb.peek(kind, linear, pcid) == entry) {
                checker.filled(kind, entry, t);
            }
        }
        listener.filled(kind, entry, evicted);
        if (tlb.peek(kind, linear, pcid) != entry) {
            unheld.put(entry.pageBase(), entry.end());
        }
        return entry;
    }

    /** Maps the page of {@code linear} with what both TLBs allow now. */
    private void install(long linear, Tlb.Kind filled, TlbEntry entry, AccessMode mode, PagingState state, int pcid) {
        TlbEntry data = filled == Tlb.Kind.DATA ? entry : tlb.peek(Tlb.Kind.DATA, linear, pcid);
        TlbEntry code = filled == Tlb.Kind.INSTRUCTION ? entry : tlb.peek(Tlb.Kind.INSTRUCTION, linear, pcid);
        TlbEntry other = filled == Tlb.Kind.DATA ? code : data;
        if (other != null && other.physicalAddress(linear) != entry.physicalAddress(linear)) {
            // The two TLBs disagree (one entry is stale). The engine can map one frame only, so the
            // other entry goes: a processor may invalidate any TLB entry at any time (SDM 4.10.2.2).
            Tlb.Kind otherKind = filled == Tlb.Kind.DATA ? Tlb.Kind.INSTRUCTION : Tlb.Kind.DATA;
            tlb.remove(otherKind, other);
            if (checker != null) {
                checker.removed(List.of(other));
            }
            mappings.removeRange(other.pageBase(), other.end());
            if (filled == Tlb.Kind.DATA) {
                code = null;
            } else {
                data = null;
            }
        }
        int perms = 0;
        if (data != null) {
            if (AccessRights.check(data.rights(), AccessType.READ, mode, state) == 0) {
                perms |= ResidentMappings.READ;
            }
            if (data.dirty() && AccessRights.check(data.rights(), AccessType.WRITE, mode, state) == 0) {
                perms |= ResidentMappings.WRITE;
            }
        }
        if (code != null && AccessRights.check(code.rights(), AccessType.FETCH, mode, state) == 0) {
            perms |= ResidentMappings.EXEC;
        }
        if (checker != null) {
            perms = checker.enginePermissions(data, code, perms);
        }
        mappings.install(linear, data, code, perms);
    }

    /**
     * Removes entries and their mappings, and tells the listener why. Every invalidation also
     * unmaps the pages used without a TLB entry (see {@link #unheld}).
     */
    public void invalidate(String cause, List<TlbEntry> removed) {
        if (checker != null) {
            checker.removed(removed);
        }
        for (TlbEntry e : removed) {
            mappings.removeRange(e.pageBase(), e.end());
        }
        for (Map.Entry<Long, Long> page : unheld.entrySet()) {
            mappings.removeRange(page.getKey(), page.getValue());
        }
        unheld.clear();
        if (!removed.isEmpty()) {
            listener.invalidated(cause, removed);
        }
    }

    /** INVLPG m (SDM 4.10.4.1). */
    public void invlpg(long linearAddress, PagingState state) {
        List<TlbEntry> removed = tlb.invalidatePage(linearAddress, currentPcid(state));
        if (checker != null && removed.isEmpty()) {
            checker.invlpgFoundNothing(linearAddress);
        }
        invalidate("INVLPG", removed);
    }

    /**
     * The privilege level changed to one that may do less (CPL 3; or CPL 0 under SMEP/SMAP):
     * unmaps exactly the chunks whose permissions the resident entries do not grant in
     * {@code mode}, so that a supervisor page is unreachable from user mode (DESIGN.md, "The TLB
     * model") while everything else stays mapped. Cheaper than dropping every mapping, which
     * made each SYSCALL round trip cost ~50 us of Unicorn unmapping and mapping.
     */
    public void restrictTo(AccessMode mode, PagingState state) {
        int pcid = currentPcid(state);
        for (ResidentMappings.Chunk c : mappings.chunks()) {
            TlbEntry data = tlb.peek(Tlb.Kind.DATA, c.linear(), pcid);
            TlbEntry code = tlb.peek(Tlb.Kind.INSTRUCTION, c.linear(), pcid);
            int allowed = 0;
            if (data != null && AccessRights.check(data.rights(), AccessType.READ, mode, state) == 0) {
                allowed |= ResidentMappings.READ;
            }
            if (data != null && data.dirty() && AccessRights.check(data.rights(), AccessType.WRITE, mode, state) == 0) {
                allowed |= ResidentMappings.WRITE;
            }
            if (code != null && AccessRights.check(code.rights(), AccessType.FETCH, mode, state) == 0) {
                allowed |= ResidentMappings.EXEC;
            }
            if ((c.perms() & ~allowed) != 0) {
                mappings.removeRange(c.linear(), c.linear() + c.size());
            }
        }
    }

    /**
     * Rights the engine's mappings were derived from changed (CPL, CR0.WP, CR4.SMEP/SMAP,
     * RFLAGS.AC): drop every mapping; resident entries map themselves again on the next access,
     * without a walk.
     */
    public void rightsContextChanged() {
        mappings.removeAll();
        unheld.clear();
    }
}
