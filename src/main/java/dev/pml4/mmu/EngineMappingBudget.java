package dev.pml4.mmu;

import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.SequencedSet;

/**
 * How many separate mappings the engine may hold at once, and which one goes when a new one would
 * exceed that. Unicorn 2.0.1 aborts the whole process before 4,096 mapped regions
 * ({@code phys_section_add: Assertion 'map->sections_nb < TARGET_PAGE_SIZE'}), and every map gets
 * slower as regions pile up (DESIGN.md fact 13: 1.3 ms per map at 1,000 regions). The TLB model
 * stays as large as the user asks; only the engine's image of it is bounded. A chunk dropped here
 * keeps its TLB entry: the next access to it misses in the engine, finds the entry in Java (a
 * lookup, no walk) and maps it again, so nothing architectural changes.
 *
 * <p>The chunk unmapped is the one least recently mapped or re-permitted; the chunk being mapped
 * is never chosen, so an instruction that touches a few pages always finds them all.
 */
final class EngineMappingBudget {
    /**
     * The default: far below Unicorn's limit, and where a map still costs about 0.1 ms. Measured
     * with guest/many_pages and {@code --tlb d4k=1024x8} (24,600 maps and as many unmaps, each
     * page's TLB entry kept): 4.6 s at 64 chunks, 5.2 s at 128, 16 s at 256, 63 s at 512 (the
     * default geometry, which evicts its own entries instead, takes 2.2 s). 128 also covers the
     * 4 KiB pages of the default Skylake DTLB (64) and ITLB (128) in the usual case where code and
     * data pages are few, and a chunk is as large as the page (2 MiB for the boot mappings).
     */
    static final int DEFAULT_LIMIT = 128;

    private final int limit;
    /** Chunk bases, least recently used first. */
    private final SequencedSet<Long> order = new LinkedHashSet<>();

    EngineMappingBudget(int limit) {
        if (limit < 4) {
            throw new IllegalArgumentException("an engine mapping budget below 4 cannot hold one instruction's pages: " + limit);
        }
        this.limit = limit;
    }

    int limit() {
        return limit;
    }

    /** The chunk at {@code base} was mapped or its rights changed: it is the most recent. */
    void used(long base) {
        order.remove(base);
        order.addLast(base);
    }

    void removed(long base) {
        order.remove(base);
    }

    void clear() {
        order.clear();
    }

    /**
     * The chunk to unmap before one more is mapped at {@code incoming}, or -1 when there is room.
     * {@code held} is how many chunks are mapped now.
     */
    long victim(int held, long incoming) {
        if (held < limit) {
            return -1;
        }
        for (Iterator<Long> it = order.iterator(); it.hasNext(); ) {
            long base = it.next();
            if (base != incoming) {
                return base;
            }
        }
        return -1;
    }
}
