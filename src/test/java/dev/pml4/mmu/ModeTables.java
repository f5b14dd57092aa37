package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;

import java.util.List;
import java.util.Locale;

/**
 * Test-only page tables for any paging mode: one chain of tables at 0x1000, 0x2000, ... for a
 * fixed linear address per mode, entries written at the mode's width (4 bytes for 32-bit paging).
 * PAE's PDPT sits at 0x1020, so that CR3 bits 11:5 take part.
 */
final class ModeTables implements AutoCloseable {
    static final long ROOT = 0x1000;
    static final long PAE_PDPT = 0x1020;
    static final long FRAME_4K = 0x7ff000L;
    /** A 4-MiB frame above 4 GiB: PDE bits 20:13 = 0x01 (PSE-36) give physical bit 32. */
    static final long FRAME_4M = 0x1_0040_0000L;
    static final long FRAME_2M = 0x600000L;
    static final long FRAME_1G = 0x4000_0000L;

    final PhysicalMemory mem = new PhysicalMemory(8L << 20);
    final PagingMode mode;

    ModeTables(PagingMode mode) {
        this.mode = mode;
    }

    /** The linear address each mode's chain maps: indexes 1, 2, 3, 4 where the mode has them; 5-level's is above 2^47. */
    long linear() {
        return switch (mode) {
            case BITS_32 -> 0x8040_3567L;               // PDE 0x201, PTE 0x003
            case PAE -> 0xc060_4567L;                   // PDPTE 3, PDE 3, PTE 4
            case FOUR_LEVEL -> 0x0000_0080_8060_4567L;  // PML4E 1, PDPTE 2, PDE 3, PTE 4
            case FIVE_LEVEL -> 0x0081_0080_8060_4567L;  // PML5E 0x81, PML4E 1, PDPTE 2, PDE 3, PTE 4
            case NONE -> throw new IllegalArgumentException("no tables with paging off");
        };
    }

    /** Tokens: WP NXE SMEP SMAP AC PSE PGE; CR0.PG|PE always, and what the mode needs. */
    PagingState state(String spec) {
        long cr0 = 0x8000_0001L;
        long cr4 = switch (mode) {
            case BITS_32 -> 0;
            case PAE, FOUR_LEVEL -> 0x20;
            default -> 0x20 | PagingState.CR4_LA57;
        };
        long efer = mode == PagingMode.BITS_32 || mode == PagingMode.PAE ? 0 : 0x500;
        boolean ac = false;
        for (String t : spec.trim().split("\\s+")) {
            switch (t.toUpperCase(Locale.ROOT)) {
                case "", "-" -> { }
                case "WP" -> cr0 |= PagingState.CR0_WP;
                case "NXE" -> efer |= PagingState.EFER_NXE;
                case "SMEP" -> cr4 |= PagingState.CR4_SMEP;
                case "SMAP" -> cr4 |= PagingState.CR4_SMAP;
                case "PSE" -> cr4 |= PagingState.CR4_PSE;
                case "PGE" -> cr4 |= PagingState.CR4_PGE;
                case "AC" -> ac = true;
                default -> throw new IllegalArgumentException("state " + t);
            }
        }
        long cr3 = mode == PagingMode.PAE ? PAE_PDPT : ROOT;
        return new PagingState(cr0, cr3, cr4, efer, ac);
    }

    /** The table that level {@code i} of the mode indexes. */
    long table(int i) {
        return mode == PagingMode.PAE && i == 0 ? PAE_PDPT : ROOT + 0x1000L * i;
    }

    long entryAddress(int i) {
        PagingLevel level = mode.levels().get(i);
        return table(i) + (long) level.entryBytes() * level.index(linear());
    }

    /**
     * Writes the chain for a page of {@code size}, with {@code flags} in every entry (P added),
     * except PAE's PDPTE, which takes only P (its other flag bits are reserved). Returns the leaf's level index.
     */
    int chain(PageSize size, long flags) {
        List<PagingLevel> levels = mode.levels();
        int leaf = switch (size) {
            case SIZE_4K -> levels.size() - 1;
            case SIZE_2M, SIZE_4M -> levels.size() - 2;
            case SIZE_1G -> levels.size() - 3;
        };
        for (int i = 0; i <= leaf; i++) {
            long value;
            if (i < leaf) {
                value = table(i + 1) | Paging.P | (levels.get(i) == PagingLevel.PAE_PDPT ? 0 : flags);
            } else {
                long frame = switch (size) {
                    case SIZE_4K -> FRAME_4K;
                    case SIZE_2M -> FRAME_2M | Paging.PS;
                    case SIZE_4M -> (FRAME_4M & 0xffc0_0000L) | ((FRAME_4M >>> 32) << 13) | Paging.PS;
                    case SIZE_1G -> FRAME_1G | Paging.PS;
                };
                value = frame | Paging.P | flags;
            }
            set(i, value);
        }
        return leaf;
    }

    void set(int i, long value) {
        if (mode.levels().get(i).entryBytes() == 4) {
            mem.write32(entryAddress(i), (int) value);
        } else {
            mem.write64(entryAddress(i), value);
        }
    }

    long get(int i) {
        return mode.levels().get(i).entryBytes() == 4 ? Integer.toUnsignedLong(mem.read32(entryAddress(i)))
                : mem.read64(entryAddress(i));
    }

    PageWalker walker() {
        return new PageWalker(mem, 36);
    }

    @Override
    public void close() {
        mem.close();
    }
}
