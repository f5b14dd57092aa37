package dev.pml4.inspect;

import dev.pml4.mmu.PageSize;
import dev.pml4.mmu.PageWalker;
import dev.pml4.mmu.PagingLevel;
import dev.pml4.mmu.PagingMode;
import dev.pml4.mmu.PagingState;
import dev.pml4.mmu.WalkStep;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The paging structures under CR3 as the walker reads them, in any paging mode: each table once
 * (a table two entries reference is one {@link Table}), with its present entries at their width.
 * PAE paging's first "table" is the four PDPTE registers. The views (pt, pt-tree, pt-dot) walk it.
 */
record PageTables(PagingMode mode, Table root) {

    /** One paging structure: its level, physical address, and present entries in index order. */
    record Table(PagingLevel level, long address, List<Entry> present) {
    }

    /**
     * A present entry: a leaf mapping a page of {@code size} at {@code frame}, or a reference to
     * {@code next}. Entries are read as the walker reads them, so reserved bits are not judged here.
     */
    record Entry(int index, long value, PageSize size, long frame, Table next) {
        boolean leaf() {
            return size != null;
        }
    }

    static PageTables read(PageWalker walker, PagingState state) {
        PagingMode mode = state.mode();
        Map<String, Table> seen = new HashMap<>();
        return new PageTables(mode, table(walker, state, mode.levels(), 0, walker.root(state), seen));
    }

    private static Table table(PageWalker walker, PagingState state, List<PagingLevel> levels, int depth, long address,
                               Map<String, Table> seen) {
        PagingLevel level = levels.get(depth);
        String key = level + "@" + address;
        Table known = seen.get(key);
        if (known != null) {
            return known;
        }
        List<Entry> present = new ArrayList<>();
        Table table = new Table(level, address, present);
        seen.put(key, table);
        for (int i = 0; i < level.entries(); i++) {
            WalkStep step = walker.entryAt(level, address, i, state);
            long value = step.entryValue();
            if (!step.present()) {
                continue;
            }
            PageSize size = PageWalker.mappedSize(level, value, state);
            if (size != null) {
                present.add(new Entry(i, value, size, walker.frameBase(size, value), null));
            } else if (depth + 1 < levels.size()) {
                present.add(new Entry(i, value, null, 0,
                        table(walker, state, levels, depth + 1, walker.nextTable(level, value), seen)));
            }
        }
        return table;
    }

    /** The linear address an entry at {@code index} of {@code level} starts, under {@code base}; sign-extended in IA-32e mode. */
    long linear(long base, PagingLevel level, int index) {
        long va = base | ((long) index << level.shift());
        int bits = mode.linearBits();
        return bits == 32 ? va : (va << (64 - bits)) >> (64 - bits);
    }

    /** Hex digits to print a linear address with: 8 for 32-bit linear addresses, else 16. */
    int linearDigits() {
        return mode.linearBits() == 32 ? 8 : 16;
    }
}
