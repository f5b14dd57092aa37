package dev.pml4.mmu;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The architectural TLB model: split instruction and data TLBs, each a set-associative array per
 * page size with LRU replacement. It knows nothing of Unicorn: callers turn the entries it fills,
 * evicts and invalidates into mappings.
 *
 * <p>Matching follows SDM Vol. 3A 4.10.2.4 and 4.10.1: an entry is used for the current PCID, or
 * for any PCID when it is global. Global entries are only created while CR4.PGE = 1, so the caller
 * decides {@code global} at fill time. Nothing here reads page tables: a guest that edits a PTE
 * keeps using what is cached until one of the invalidations below removes it.
 */
public final class Tlb {
    public enum Kind { INSTRUCTION, DATA }

    /**
     * Counters of one TLB at one moment; the hook-free hits Unicorn serves from its own mapping are
     * not seen.
     *
     * @param invalidations entries removed by INVLPG, CR3/CR4 writes, INVPCID and page faults
     * @param flushes flush operations (each may remove many entries)
     */
    public record Statistics(long hits, long misses, long fills, long evictions, long invalidations, long flushes) {
    }

    private static final class Counters {
        long hits;
        long misses;
        long fills;
        long evictions;
        long invalidations;
        long flushes;

        Statistics snapshot() {
            return new Statistics(hits, misses, fills, evictions, invalidations, flushes);
        }
    }

    private final TlbConfig config;
    private final SetAssociative[][] arrays = new SetAssociative[2][PageSize.values().length];
    private final Counters[] stats = {new Counters(), new Counters()};
    private long clock;

    public Tlb(TlbConfig config) {
        this.config = config;
        for (Kind kind : Kind.values()) {
            for (PageSize size : PageSize.values()) {
                arrays[kind.ordinal()][size.ordinal()] = new SetAssociative(config.geometry(kind, size), size);
            }
        }
    }

    public TlbConfig config() {
        return config;
    }

    public Statistics statistics(Kind kind) {
        return stats[kind.ordinal()].snapshot();
    }

    /** Finds the entry translating {@code linearAddress} for {@code pcid}, counting a hit or a miss and refreshing LRU. */
    public TlbEntry lookup(Kind kind, long linearAddress, int pcid) {
        TlbEntry e = find(kind, linearAddress, pcid, true);
        if (e != null) {
            stats[kind.ordinal()].hits++;
        } else {
            stats[kind.ordinal()].misses++;
        }
        return e;
    }

    /** Like {@link #lookup} but changes nothing: no statistics, no LRU (for the debugger and mapping decisions). */
    public TlbEntry peek(Kind kind, long linearAddress, int pcid) {
        return find(kind, linearAddress, pcid, false);
    }

    private TlbEntry find(Kind kind, long linearAddress, int pcid, boolean touch) {
        for (SetAssociative array : arrays[kind.ordinal()]) {
            TlbEntry e = array.find(linearAddress, pcid, touch ? ++clock : 0);
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    /**
     * Caches a translation. Any entry of the same TLB that also covers part of the new page for
     * the same PCID (a stale entry of another page size) is dropped first, so that one linear
     * address never has two translations in one TLB. Returns every entry removed to make room.
     */
    public List<TlbEntry> fill(Kind kind, TlbEntry entry) {
        Counters s = stats[kind.ordinal()];
        s.fills++;
        List<TlbEntry> removed = new ArrayList<>(1);
        for (SetAssociative array : arrays[kind.ordinal()]) {
            array.removeIf(e -> overlaps(e, entry) && (e.global() || entry.global() || e.pcid() == entry.pcid()), removed);
        }
        s.evictions += removed.size();
        TlbEntry evicted = arrays[kind.ordinal()][entry.size().ordinal()].insert(entry, ++clock);
        if (evicted != null) {
            s.evictions++;
            removed.add(evicted);
        }
        return removed;
    }

    /** Replaces {@code old} by {@code updated} in place (a rewalk that set the dirty flag). */
    public void update(Kind kind, TlbEntry old, TlbEntry updated) {
        arrays[kind.ordinal()][old.size().ordinal()].replace(old, updated);
    }

    /** Drops one entry (a processor may invalidate any TLB entry at any time, SDM 4.10.2.2); counted as an eviction. */
    public void remove(Kind kind, TlbEntry entry) {
        List<TlbEntry> removed = new ArrayList<>(1);
        arrays[kind.ordinal()][entry.size().ordinal()].removeIf(e -> e == entry, removed);
        stats[kind.ordinal()].evictions += removed.size();
    }

    /** INVLPG (SDM 4.10.4.1): entries of either TLB for the page of {@code linearAddress}, current PCID or global, any page size. */
    public List<TlbEntry> invalidatePage(long linearAddress, int pcid) {
        return invalidate(e -> e.covers(linearAddress) && (e.global() || e.pcid() == pcid));
    }

    /**
     * The entries of either TLB for the page of {@code linearAddress} that belong to {@code pcid}:
     * without {@code includeGlobal} only its non-global ones (INVPCID type 0, "individual-address
     * invalidation ... except global translations", SDM 4.10.4.1); with it, global entries of the
     * page too, whatever PCID they were filled under (a #PF, so that it does not recur).
     */
    public List<TlbEntry> invalidateAddress(long linearAddress, int pcid, boolean includeGlobal) {
        return invalidate(e -> e.covers(linearAddress)
                && (e.global() ? includeGlobal : e.pcid() == pcid));
    }

    /** MOV to CR3 without the no-flush bit (SDM 4.10.4.1): non-global entries of {@code pcid}. */
    public List<TlbEntry> flushNonGlobal(int pcid) {
        return invalidate(e -> !e.global() && e.pcid() == pcid);
    }

    /** INVPCID type 1: non-global entries of one PCID. */
    public List<TlbEntry> flushPcid(int pcid) {
        return flushNonGlobal(pcid);
    }

    /** INVPCID type 3, and CR4 writes that flush every PCID's non-global entries. */
    public List<TlbEntry> flushAllNonGlobal() {
        return invalidate(e -> !e.global());
    }

    /** Toggling CR4.PGE, clearing CR4.PCIDE, CR0.PG changes, INVPCID type 2: everything, global entries too. */
    public List<TlbEntry> flushAll() {
        return invalidate(e -> true);
    }

    private List<TlbEntry> invalidate(Predicate<TlbEntry> which) {
        List<TlbEntry> removed = new ArrayList<>();
        for (Kind kind : Kind.values()) {
            int before = removed.size();
            for (SetAssociative array : arrays[kind.ordinal()]) {
                array.removeIf(which, removed);
            }
            Counters s = stats[kind.ordinal()];
            s.flushes++;
            s.invalidations += removed.size() - before;
        }
        return removed;
    }

    /** Every resident entry, for inspection (ITLB first, then DTLB; each by page size, set and way). */
    public List<TlbEntry> entries(Kind kind) {
        List<TlbEntry> out = new ArrayList<>();
        for (SetAssociative array : arrays[kind.ordinal()]) {
            array.collect(out);
        }
        return out;
    }

    private static boolean overlaps(TlbEntry a, TlbEntry b) {
        return a.pageBase() < b.end() && b.pageBase() < a.end();
    }

    /** One array of sets x ways for one page size. */
    private static final class SetAssociative {
        private final int sets;
        private final int ways;
        private final PageSize size;
        private final TlbEntry[] entries;
        private final long[] lastUse;

        SetAssociative(TlbConfig.Geometry geometry, PageSize size) {
            this.sets = geometry.sets();
            this.ways = geometry.ways();
            this.size = size;
            this.entries = new TlbEntry[sets * ways];
            this.lastUse = new long[sets * ways];
        }

        private int setOf(long linearAddress) {
            // Index by the low bits of the virtual page number, as hardware does.
            return (int) ((linearAddress >>> size.shift()) & (sets - 1)) * ways;
        }

        TlbEntry find(long linearAddress, int pcid, long now) {
            if (entries.length == 0) {
                return null;
            }
            long page = linearAddress & ~size.offsetMask();
            int base = setOf(linearAddress);
            for (int w = base; w < base + ways; w++) {
                TlbEntry e = entries[w];
                if (e != null && e.pageBase() == page && (e.global() || e.pcid() == pcid)) {
                    if (now != 0) {
                        lastUse[w] = now;
                    }
                    return e;
                }
            }
            return null;
        }

        /** Inserts into the entry's set, evicting the least recently used way when full. */
        TlbEntry insert(TlbEntry entry, long now) {
            if (entries.length == 0) {
                return null;
            }
            int base = setOf(entry.pageBase());
            int victim = base;
            for (int w = base; w < base + ways; w++) {
                if (entries[w] == null) {
                    victim = w;
                    break;
                }
                if (lastUse[w] < lastUse[victim]) {
                    victim = w;
                }
            }
            TlbEntry evicted = entries[victim];
            entries[victim] = entry;
            lastUse[victim] = now;
            return evicted;
        }

        void replace(TlbEntry old, TlbEntry updated) {
            for (int i = 0; i < entries.length; i++) {
                if (entries[i] == old) {
                    entries[i] = updated;
                    return;
                }
            }
        }

        void removeIf(Predicate<TlbEntry> which, List<TlbEntry> removed) {
            for (int i = 0; i < entries.length; i++) {
                if (entries[i] != null && which.test(entries[i])) {
                    removed.add(entries[i]);
                    entries[i] = null;
                }
            }
        }

        void collect(List<TlbEntry> out) {
            for (TlbEntry e : entries) {
                if (e != null) {
                    out.add(e);
                }
            }
        }
    }
}
