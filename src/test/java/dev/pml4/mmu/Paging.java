package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;

import java.util.Locale;

/**
 * Test-only page-table builder: one chain of tables at fixed physical addresses in 8 MiB of RAM,
 * entries written raw. Flag strings are space-separated tokens: W (R/W), U (U/S), XD, A, D, PS, G,
 * "bitN" for any bit, "!P" to leave P clear (P is set otherwise), "-" for nothing.
 */
final class Paging implements AutoCloseable {
    static final long PML4 = 0x1000;
    static final long PDPT = 0x2000;
    static final long PD = 0x3000;
    static final long PT = 0x4000;
    static final long FRAME_4K = 0x7ff000L;
    static final long FRAME_2M = 0x600000L;
    static final long FRAME_1G = 0x4000_0000L;
    /** PML4[1] PDPT[2] PD[3] PT[4], offset 0x567. */
    static final long LINEAR = 0x0000_0080_8060_4567L;

    /** 4-level paging's levels in walk order. */
    static final java.util.List<PagingLevel> LEVELS = PagingMode.FOUR_LEVEL.levels();

    /** The page sizes 4-level paging maps. */
    static final java.util.List<PageSize> SIZES = java.util.List.of(PageSize.SIZE_4K, PageSize.SIZE_2M, PageSize.SIZE_1G);

    static final long P = 1, W = 2, U = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100, XD = 1L << 63;

    final PhysicalMemory mem = new PhysicalMemory(8L << 20);

    static long flags(String spec) {
        long v = P;
        for (String t : spec.trim().split("\\s+")) {
            switch (t) {
                case "", "-" -> { }
                case "!P" -> v &= ~P;
                case "W" -> v |= W;
                case "U" -> v |= U;
                case "XD" -> v |= XD;
                case "A" -> v |= A;
                case "D" -> v |= D;
                case "PS" -> v |= PS;
                case "G" -> v |= G;
                default -> {
                    if (!t.startsWith("bit")) {
                        throw new IllegalArgumentException("flag " + t);
                    }
                    v |= 1L << Integer.parseInt(t.substring(3));
                }
            }
        }
        return v;
    }

    /** Tokens: WP NXE SMEP SMAP AC PGE PCIDE; always CR0.PG|PE, CR4.PAE, EFER.LME|LMA, CR3=PML4. */
    static PagingState state(String spec) {
        long cr0 = 0x8000_0001L, cr4 = 0x20, efer = 0x500;
        boolean ac = false;
        for (String t : spec.trim().split("\\s+")) {
            switch (t.toUpperCase(Locale.ROOT)) {
                case "", "-" -> { }
                case "WP" -> cr0 |= 1L << 16;
                case "NXE" -> efer |= 1L << 11;
                case "SMEP" -> cr4 |= 1L << 20;
                case "SMAP" -> cr4 |= 1L << 21;
                case "PGE" -> cr4 |= 1L << 7;
                case "PCIDE" -> cr4 |= 1L << 17;
                case "AC" -> ac = true;
                default -> throw new IllegalArgumentException("state " + t);
            }
        }
        return new PagingState(cr0, PML4, cr4, efer, ac);
    }

    static long table(PagingLevel level) {
        return switch (level) {
            case PML4 -> PML4;
            case PDPT -> PDPT;
            case PD -> PD;
            case PT -> PT;
            default -> throw new IllegalArgumentException("not a 4-level table: " + level);
        };
    }

    static int index(PagingLevel level, long linear) {
        int shift = switch (level) {
            case PML4 -> 39;
            case PDPT -> 30;
            case PD -> 21;
            case PT -> 12;
            default -> throw new IllegalArgumentException("not a 4-level table: " + level);
        };
        return (int) ((linear >>> shift) & 511);
    }

    static long entryAddress(PagingLevel level, long linear) {
        return table(level) + 8L * index(level, linear);
    }

    /** Levels a page of this size uses: 4 for 4K, 3 for 2M, 2 for 1G. */
    static int depth(PageSize size) {
        return switch (size) {
            case SIZE_4K -> 4;
            case SIZE_2M -> 3;
            case SIZE_1G -> 2;
            case SIZE_4M -> throw new IllegalArgumentException("4-level paging has no 4 MiB pages");
        };
    }

    /**
     * Writes the chain for one page. Entries past the leaf are ignored (pass "-"). The leaf gets
     * PS (large pages) and its frame; others point at the next table.
     */
    void chain(PageSize size, long linear, String pml4e, String pdpte, String pde, String pte) {
        set(PagingLevel.PML4, linear, PDPT | flags(pml4e));
        switch (size) {
            case SIZE_1G -> set(PagingLevel.PDPT, linear, FRAME_1G | PS | flags(pdpte));
            case SIZE_2M -> {
                set(PagingLevel.PDPT, linear, PD | flags(pdpte));
                set(PagingLevel.PD, linear, FRAME_2M | PS | flags(pde));
            }
            case SIZE_4K -> {
                set(PagingLevel.PDPT, linear, PD | flags(pdpte));
                set(PagingLevel.PD, linear, PT | flags(pde));
                set(PagingLevel.PT, linear, FRAME_4K | flags(pte));
            }
            case SIZE_4M -> throw new IllegalArgumentException("4-level paging has no 4 MiB pages");
        }
    }

    /** A 4K chain for LINEAR with the same flags at every level. */
    void chain4k(String all) {
        chain(PageSize.SIZE_4K, LINEAR, all, all, all, all);
    }

    void set(PagingLevel level, long linear, long value) {
        mem.write64(entryAddress(level, linear), value);
    }

    long get(PagingLevel level, long linear) {
        return mem.read64(entryAddress(level, linear));
    }

    void or(PagingLevel level, long linear, long bits) {
        set(level, linear, get(level, linear) | bits);
    }

    void andNot(PagingLevel level, long linear, long bits) {
        set(level, linear, get(level, linear) & ~bits);
    }

    /** Physical 0..0x5000, which holds the four tables: used to prove that nothing was written. */
    byte[] snapshot() {
        return mem.readBytes(0, 0x5000);
    }

    PageWalker walker() {
        return new PageWalker(mem, 36);
    }

    @Override
    public void close() {
        mem.close();
    }
}
