package dev.pml4.mmu;

import java.util.EnumMap;
import java.util.Map;

/**
 * The geometry of the split first-level TLBs: for each of the instruction and data TLB, and each
 * page size, a number of sets and of ways. A size with zero entries cannot be cached in that TLB
 * and its translations are not kept (re-walked on the next miss); the engine keeps such a page
 * mapped only until the next invalidation of any kind ({@link Mmu}).
 *
 * <p>The default follows a Skylake core (Intel 64 and IA-32 Architectures Optimization Reference
 * Manual, 2.2.6 "Skylake microarchitecture", TLB table): ITLB 4 KiB 128 entries 8-way, ITLB 2 MiB 8
 * entries fully associative; DTLB 4 KiB 64 entries 4-way, 2 MiB 32 entries 4-way, 1 GiB 4 entries
 * fully associative. Skylake's ITLB has no 1 GiB array; it keeps 1 GiB pages as 2 MiB fragments.
 * We give the ITLB a small 1 GiB array instead, so that one kind of entry serves both TLBs.
 *
 * @param instruction sets and ways per page size of the ITLB
 * @param data sets and ways per page size of the DTLB
 */
public record TlbConfig(Map<PageSize, Geometry> instruction, Map<PageSize, Geometry> data) {

    /** {@code sets} must be a power of two; a set holds {@code ways} entries with LRU replacement. */
    public record Geometry(int sets, int ways) {
        public Geometry {
            if (sets < 0 || ways < 0 || (sets > 0 && Integer.bitCount(sets) != 1)) {
                throw new IllegalArgumentException("TLB sets must be a power of two and ways non-negative: " + sets + "x" + ways);
            }
        }

        public int entries() {
            return sets * ways;
        }

        @Override
        public String toString() {
            return sets + "x" + ways;
        }
    }

    public static TlbConfig skylake() {
        Map<PageSize, Geometry> i = new EnumMap<>(PageSize.class);
        i.put(PageSize.SIZE_4K, new Geometry(16, 8));
        i.put(PageSize.SIZE_2M, new Geometry(1, 8));
        i.put(PageSize.SIZE_1G, new Geometry(1, 4));
        Map<PageSize, Geometry> d = new EnumMap<>(PageSize.class);
        d.put(PageSize.SIZE_4K, new Geometry(16, 4));
        d.put(PageSize.SIZE_2M, new Geometry(8, 4));
        d.put(PageSize.SIZE_1G, new Geometry(1, 4));
        return new TlbConfig(i, d);
    }

    public Geometry geometry(Tlb.Kind kind, PageSize size) {
        Geometry g = (kind == Tlb.Kind.INSTRUCTION ? instruction : data).get(size);
        return g == null ? new Geometry(0, 0) : g;
    }
}
