package dev.pml4.mmu;

import dev.pml4.mmu.Tlb.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The TLB model against Intel SDM Vol. 3A section 4.10 ("Caching Translation Information"):
 * 4.10.1 (PCIDs), 4.10.2.2 (what an entry caches; separate TLBs for fetches), 4.10.2.3 (details of
 * TLB use: large pages, page-size changes), 4.10.2.4 (global pages), 4.10.4.1 (operations that
 * invalidate), plus the replacement policy and counters of the model itself.
 *
 * <p>Every test uses a small geometry, 4 sets x 2 ways per page size in both TLBs, so that set
 * conflicts are easy to build: pages n and n + 4 of one size share a set.
 */
class TlbTest {
    static final int SETS = 4;
    static final int WAYS = 2;
    /** 512 GiB: aligned for every page size and in set 0 of each array. */
    static final long BASE = 0x0000_0080_0000_0000L;
    static final int CURRENT_PCID = 1;
    static final int OTHER_PCID = 2;
    static final PageRights RWX = new PageRights(true, true, true);

    static TlbConfig small() {
        Map<PageSize, TlbConfig.Geometry> g = new EnumMap<>(PageSize.class);
        for (PageSize s : Paging.SIZES) {
            g.put(s, new TlbConfig.Geometry(SETS, WAYS));
        }
        return new TlbConfig(g, new EnumMap<>(g));
    }

    private final Tlb tlb = new Tlb(small());

    /** The linear address of page {@code n} of {@code size} above BASE; its set is n mod SETS. */
    static long page(PageSize size, long n) {
        return BASE + (n << size.shift());
    }

    static TlbEntry entry(PageSize size, long n, int pcid, boolean global) {
        return new TlbEntry(page(size, n), (n + 16) << size.shift(), size, RWX, global, pcid, false);
    }

    static Kind other(Kind kind) {
        return kind == Kind.DATA ? Kind.INSTRUCTION : Kind.DATA;
    }

    static Stream<Arguments> kindsAndSizes() {
        return Stream.of(Kind.values()).flatMap(k -> Paging.SIZES.stream().map(s -> Arguments.of(k, s)));
    }

    // ---- lookups: split TLBs, page sizes, PCIDs -----------------------------------------------

    /**
     * SDM 4.10.2.2: an entry is an individual translation referenced by a page number; a processor
     * may implement several TLBs, some only for instruction fetches. Here an entry filled into one
     * TLB is found for every address of its page, and only there.
     */
    @ParameterizedTest(name = "[{index}] {0} {1}")
    @MethodSource("kindsAndSizes")
    void aLookupHitsEveryAddressOfThePageInTheTlbItWasFilledInAndNothingElse(Kind kind, PageSize size) {
        TlbEntry e = entry(size, 5, 0, false);
        assertEquals(List.of(), tlb.fill(kind, e));

        assertSame(e, tlb.lookup(kind, e.pageBase(), 0));
        assertSame(e, tlb.lookup(kind, e.pageBase() + size.bytes() - 1, 0), "last byte of the page");
        assertNull(tlb.lookup(kind, e.pageBase() + size.bytes(), 0), "first byte of the next page");
        assertNull(tlb.lookup(kind, e.pageBase() - 1, 0), "last byte of the page before");
        assertNull(tlb.lookup(other(kind), e.pageBase() + 0x123, 0), "the other TLB");

        assertEquals(new Tlb.Statistics(2, 2, 1, 0, 0, 0), tlb.statistics(kind));
        assertEquals(new Tlb.Statistics(0, 1, 0, 0, 0, 0), tlb.statistics(other(kind)));
        assertEquals(List.of(e), tlb.entries(kind));
        assertEquals(List.of(), tlb.entries(other(kind)));
    }

    @Test
    void entriesOfEachSizeLiveSideBySideAndAreEachFound() {
        TlbEntry small = entry(PageSize.SIZE_4K, 0, 0, false);
        TlbEntry large = new TlbEntry(BASE + (1L << 30) + (2L << 21), 0x600000, PageSize.SIZE_2M, RWX, false, 0, false);
        TlbEntry huge = new TlbEntry(BASE + (2L << 30), 0x4000_0000L, PageSize.SIZE_1G, RWX, false, 0, false);
        for (TlbEntry e : List.of(small, large, huge)) {
            tlb.fill(Kind.DATA, e);
        }
        assertSame(small, tlb.lookup(Kind.DATA, small.pageBase() + 0xabc, 0));
        assertSame(large, tlb.lookup(Kind.DATA, large.pageBase() + 0x1f_f000, 0));
        assertSame(huge, tlb.lookup(Kind.DATA, huge.pageBase() + 0x3fff_ffffL, 0));
        assertEquals(0x600000 + 0x1f_f000, large.physicalAddress(large.pageBase() + 0x1f_f000));
        assertEquals(0x4000_0000L + 0x3fff_ffffL, huge.physicalAddress(huge.pageBase() + 0x3fff_ffffL));
    }

    /**
     * SDM 4.10.1: a logical processor uses only entries associated with the current PCID;
     * SDM 4.10.2.4: it may use a global entry whatever PCID it is associated with.
     */
    @ParameterizedTest(name = "[{index}] {0} global={1} filled under PCID {2}, looked up under {3}: hit={4}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | false | 0     | 0     | true
            SIZE_4K | false | 0     | 1     | false
            SIZE_4K | false | 1     | 1     | true
            SIZE_4K | false | 1     | 2     | false
            SIZE_4K | false | 4095  | 4095  | true
            SIZE_4K | false | 4095  | 0     | false
            SIZE_4K | true  | 1     | 1     | true
            SIZE_4K | true  | 1     | 2     | true
            SIZE_4K | true  | 0     | 4095  | true
            SIZE_2M | false | 1     | 2     | false
            SIZE_2M | true  | 1     | 2     | true
            SIZE_1G | false | 1     | 2     | false
            SIZE_1G | true  | 1     | 2     | true
            """)
    void lookupsAreTaggedByPcidExceptForGlobalEntries(PageSize size, boolean global, int filledPcid, int lookupPcid,
                                                      boolean hit) {
        TlbEntry e = entry(size, 3, filledPcid, global);
        tlb.fill(Kind.DATA, e);
        assertEquals(hit ? e : null, tlb.lookup(Kind.DATA, e.pageBase() + 0x10, lookupPcid));
    }

    @Test
    void twoPcidsCanEachHoldTheirOwnTranslationOfOnePage() {
        TlbEntry mine = entry(PageSize.SIZE_4K, 7, 1, false);
        TlbEntry theirs = new TlbEntry(mine.pageBase(), 0x9000, PageSize.SIZE_4K, RWX, false, 2, false);
        tlb.fill(Kind.DATA, mine);
        assertEquals(List.of(), tlb.fill(Kind.DATA, theirs), "another PCID's entry is not in the way");
        assertSame(mine, tlb.lookup(Kind.DATA, mine.pageBase(), 1));
        assertSame(theirs, tlb.lookup(Kind.DATA, mine.pageBase(), 2));
        assertNull(tlb.lookup(Kind.DATA, mine.pageBase(), 3));
    }

    // ---- replacement: set-associative LRU ------------------------------------------------------

    /**
     * ways + 1 entries whose page numbers share a set: filling the last evicts the least recently
     * used one. A lookup makes an entry the most recently used; a peek (the debugger's view) does
     * not. An entry of another set is never the victim.
     */
    @ParameterizedTest(name = "[{index}] {0} {1} -> page {2} evicted")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | nothing                 | 1
            SIZE_4K | lookup the first        | 5
            SIZE_4K | peek at the first       | 1
            SIZE_4K | lookup second then first | 5
            SIZE_4K | lookup first then second | 1
            SIZE_2M | nothing                 | 1
            SIZE_2M | lookup the first        | 5
            SIZE_2M | peek at the first       | 1
            SIZE_1G | nothing                 | 1
            SIZE_1G | lookup the first        | 5
            SIZE_1G | lookup first then second | 1
            """)
    void fillingAFullSetEvictsTheLeastRecentlyUsedWay(PageSize size, String between, long evictedPage) {
        TlbEntry bystander = entry(size, 2, 0, false); // set 2
        TlbEntry first = entry(size, 1, 0, false);     // set 1
        TlbEntry second = entry(size, 5, 0, false);    // set 1
        TlbEntry third = entry(size, 9, 0, false);     // set 1: one more than WAYS
        tlb.fill(Kind.DATA, bystander);
        tlb.fill(Kind.DATA, first);
        tlb.fill(Kind.DATA, second);
        switch (between) {
            case "nothing" -> { }
            case "lookup the first" -> tlb.lookup(Kind.DATA, first.pageBase(), 0);
            case "peek at the first" -> assertSame(first, tlb.peek(Kind.DATA, first.pageBase(), 0));
            case "lookup second then first" -> {
                tlb.lookup(Kind.DATA, second.pageBase(), 0);
                tlb.lookup(Kind.DATA, first.pageBase(), 0);
            }
            case "lookup first then second" -> {
                tlb.lookup(Kind.DATA, first.pageBase(), 0);
                tlb.lookup(Kind.DATA, second.pageBase(), 0);
            }
            default -> throw new IllegalArgumentException(between);
        }
        TlbEntry victim = evictedPage == 1 ? first : second;
        TlbEntry survivor = evictedPage == 1 ? second : first;

        assertEquals(List.of(victim), tlb.fill(Kind.DATA, third));

        assertNull(tlb.peek(Kind.DATA, victim.pageBase(), 0));
        assertSame(survivor, tlb.peek(Kind.DATA, survivor.pageBase(), 0));
        assertSame(third, tlb.peek(Kind.DATA, third.pageBase(), 0));
        assertSame(bystander, tlb.peek(Kind.DATA, bystander.pageBase(), 0));
        assertEquals(Set.of(bystander, survivor, third), Set.copyOf(tlb.entries(Kind.DATA)));
        assertEquals(1, tlb.statistics(Kind.DATA).evictions());
        assertEquals(4, tlb.statistics(Kind.DATA).fills());
    }

    @Test
    void aWayFreedByAnInvalidationIsReusedBeforeAnythingIsEvicted() {
        TlbEntry a = entry(PageSize.SIZE_4K, 1, 0, false);
        TlbEntry b = entry(PageSize.SIZE_4K, 5, 0, false);
        TlbEntry c = entry(PageSize.SIZE_4K, 9, 0, false);
        tlb.fill(Kind.DATA, a);
        tlb.fill(Kind.DATA, b);
        tlb.lookup(Kind.DATA, a.pageBase(), 0); // b is now the LRU way
        tlb.invalidatePage(a.pageBase(), 0);
        assertEquals(List.of(), tlb.fill(Kind.DATA, c));
        assertEquals(Set.of(b, c), Set.copyOf(tlb.entries(Kind.DATA)));
        assertEquals(0, tlb.statistics(Kind.DATA).evictions());
    }

    @Test
    void eachTlbAndEachPageSizeHasItsOwnSets() {
        // Page numbers 1, 5 and 9 of every size, in both TLBs: 18 entries, only three per array,
        // so each array evicts once and nothing else is disturbed.
        for (Kind kind : Kind.values()) {
            for (PageSize size : Paging.SIZES) {
                for (long n : new long[] {1, 5}) {
                    tlb.fill(kind, entry(size, n, 0, false));
                }
            }
        }
        assertEquals(6, tlb.entries(Kind.DATA).size());
        assertEquals(6, tlb.entries(Kind.INSTRUCTION).size());
        assertEquals(List.of(entry(PageSize.SIZE_2M, 1, 0, false)),
                tlb.fill(Kind.INSTRUCTION, entry(PageSize.SIZE_2M, 9, 0, false)));
        assertEquals(6, tlb.entries(Kind.DATA).size());
        assertEquals(0, tlb.statistics(Kind.DATA).evictions());
        assertEquals(1, tlb.statistics(Kind.INSTRUCTION).evictions());
    }

    /** TlbConfig: a page size with no entries is never cached (each miss walks again). */
    @Test
    void aSizeWithNoEntriesCachesNothing() {
        Map<PageSize, TlbConfig.Geometry> d = new EnumMap<>(PageSize.class);
        d.put(PageSize.SIZE_4K, new TlbConfig.Geometry(SETS, WAYS));
        Tlb noLarge = new Tlb(new TlbConfig(Map.of(), d));
        TlbEntry large = entry(PageSize.SIZE_2M, 1, 0, false);
        assertEquals(List.of(), noLarge.fill(Kind.DATA, large));
        assertNull(noLarge.lookup(Kind.DATA, large.pageBase(), 0));
        assertEquals(List.of(), noLarge.entries(Kind.DATA));
        assertEquals(List.of(), noLarge.fill(Kind.INSTRUCTION, entry(PageSize.SIZE_4K, 1, 0, false)));
        assertEquals(List.of(), noLarge.entries(Kind.INSTRUCTION));
    }

    // ---- fill: one translation per address and PCID -------------------------------------------

    /**
     * SDM 4.10.2.3: after software changes the page size used for an address range, the TLBs may
     * hold a translation of each size and may use either. The model keeps only the new one for
     * the PCIDs that could use both (the same PCID, or any PCID when either entry is global); the
     * SDM lets a processor drop any entry at any time (4.10.2.2). Another PCID's non-global entry
     * stays.
     */
    @ParameterizedTest(name = "[{index}] resident {0} global={1} pcid={2} page {3}; filled {4} global={5} pcid={6} -> resident stays={7}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | false | 1 | 0x1ff | SIZE_2M | false | 1 | false
            SIZE_4K | false | 1 | 0x000 | SIZE_1G | false | 1 | false
            SIZE_2M | false | 1 | 0x000 | SIZE_4K | false | 1 | false
            SIZE_1G | false | 1 | 0x000 | SIZE_2M | false | 1 | false
            SIZE_4K | false | 1 | 0x000 | SIZE_4K | false | 1 | false
            SIZE_4K | false | 2 | 0x1ff | SIZE_2M | false | 1 | true
            SIZE_4K | true  | 2 | 0x1ff | SIZE_2M | false | 1 | false
            SIZE_4K | false | 2 | 0x1ff | SIZE_2M | true  | 1 | false
            SIZE_4K | false | 1 | 0x200 | SIZE_2M | false | 1 | true
            """)
    void aFillDropsEntriesOfThePcidThatCoverPartOfTheNewPage(PageSize residentSize, boolean residentGlobal, int residentPcid,
                                                            String residentPage4k, PageSize filledSize, boolean filledGlobal,
                                                            int filledPcid, boolean stays) {
        // Both pages start at BASE; the resident one is moved by a number of 4 KiB pages.
        long residentBase = BASE + (Long.decode(residentPage4k) << 12);
        TlbEntry resident = new TlbEntry(residentBase, 0x4000_0000L, residentSize, RWX, residentGlobal, residentPcid, false);
        TlbEntry filled = new TlbEntry(BASE, 0x20_0000 & ~filledSize.offsetMask(), filledSize, RWX, filledGlobal, filledPcid, false);
        tlb.fill(Kind.DATA, resident);
        List<TlbEntry> removed = tlb.fill(Kind.DATA, filled);
        assertEquals(stays ? List.of() : List.of(resident), removed);
        assertEquals(stays, tlb.entries(Kind.DATA).contains(resident));
        assertTrue(tlb.entries(Kind.DATA).contains(filled));
        assertEquals(stays ? 0 : 1, tlb.statistics(Kind.DATA).evictions());
    }

    @Test
    void aFillNeverTouchesTheOtherTlb() {
        TlbEntry code = entry(PageSize.SIZE_4K, 3, 0, false);
        tlb.fill(Kind.INSTRUCTION, code);
        tlb.fill(Kind.DATA, new TlbEntry(code.pageBase(), 0x5000, PageSize.SIZE_4K, RWX, true, 0, true));
        assertEquals(List.of(code), tlb.entries(Kind.INSTRUCTION));
    }

    @Test
    void updateReplacesAnEntryInPlace() {
        TlbEntry clean = entry(PageSize.SIZE_2M, 3, 0, false);
        TlbEntry dirty = new TlbEntry(clean.pageBase(), clean.frameBase(), clean.size(), clean.rights(), false, 0, true);
        tlb.fill(Kind.DATA, clean);
        tlb.update(Kind.DATA, clean, dirty);
        assertSame(dirty, tlb.lookup(Kind.DATA, clean.pageBase(), 0));
        assertEquals(List.of(dirty), tlb.entries(Kind.DATA));
    }

    // ---- INVLPG ---------------------------------------------------------------------------------

    /**
     * SDM 4.10.4.1, INVLPG: invalidates the TLB entries for the page number of the linear address
     * associated with the current PCID, and global entries for that page number whatever their
     * PCID. A large page is one page: INVLPG of any address in it removes its entry (4.10.2.3, and
     * the INVLPG footnote: all TLB entries for a page larger than 4 KiB). Entries of other PCIDs
     * need not go, and in this model they stay. Both TLBs are invalidated.
     */
    @ParameterizedTest(name = "[{index}] {0} global={1} pcid={2}; INVLPG page+{3} under PCID {4} -> removed={5}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | false | 1 | 0x0        | 1 | true
            SIZE_4K | false | 1 | 0xfff      | 1 | true
            SIZE_4K | false | 1 | 0x1000     | 1 | false
            SIZE_4K | false | 1 | -1         | 1 | false
            SIZE_4K | false | 2 | 0x0        | 1 | false
            SIZE_4K | true  | 2 | 0x0        | 1 | true
            SIZE_4K | true  | 1 | 0x800      | 1 | true
            SIZE_4K | false | 0 | 0x800      | 0 | true
            SIZE_2M | false | 1 | 0x0        | 1 | true
            SIZE_2M | false | 1 | 0x1ff123   | 1 | true
            SIZE_2M | false | 1 | 0x100000   | 1 | true
            SIZE_2M | false | 1 | 0x200000   | 1 | false
            SIZE_2M | false | 2 | 0x1234     | 1 | false
            SIZE_2M | true  | 2 | 0x1234     | 1 | true
            SIZE_1G | false | 1 | 0x3fffffff | 1 | true
            SIZE_1G | false | 1 | 0x12345678 | 1 | true
            SIZE_1G | false | 1 | 0x40000000 | 1 | false
            SIZE_1G | true  | 2 | 0x2000     | 1 | true
            SIZE_1G | false | 2 | 0x2000     | 1 | false
            """)
    void invlpgRemovesTheEntriesOfThePageForTheCurrentPcidAndGlobalOnes(PageSize size, boolean global, int pcid,
                                                                        String offset, int currentPcid, boolean removed) {
        TlbEntry e = entry(size, 2, pcid, global);
        tlb.fill(Kind.DATA, e);
        tlb.fill(Kind.INSTRUCTION, e);

        List<TlbEntry> gone = tlb.invalidatePage(e.pageBase() + Long.decode(offset), currentPcid);

        assertEquals(removed ? List.of(e, e) : List.of(), gone);
        for (Kind kind : Kind.values()) {
            assertEquals(removed ? List.of() : List.of(e), tlb.entries(kind), kind.name());
            assertEquals(removed ? 1 : 0, tlb.statistics(kind).invalidations(), kind.name());
        }
    }

    @Test
    void invlpgOfALargePageAlsoRemovesSmallerEntriesInsideItButNotOutside() {
        // A 2 MiB page and, for the same PCID, 4 KiB entries at pages 0 and 511 of the same 2 MiB
        // range in the other TLB (the INVLPG footnote: a processor may cache a large page as
        // several smaller entries; all of them go). Page 512 is another 2 MiB page.
        tlb.fill(Kind.DATA, new TlbEntry(BASE, 0x20_0000, PageSize.SIZE_2M, RWX, false, 0, false));
        TlbEntry low = new TlbEntry(BASE, 0x20_0000, PageSize.SIZE_4K, RWX, false, 0, false);
        TlbEntry high = new TlbEntry(BASE + 0x1f_f000, 0x3f_f000, PageSize.SIZE_4K, RWX, false, 0, false);
        TlbEntry next = new TlbEntry(BASE + 0x20_0000, 0x40_0000, PageSize.SIZE_4K, RWX, false, 0, false);
        tlb.fill(Kind.INSTRUCTION, low);
        tlb.fill(Kind.INSTRUCTION, high);
        tlb.fill(Kind.INSTRUCTION, next);

        tlb.invalidatePage(BASE + 0x1f_f000, 0);
        assertEquals(List.of(), tlb.entries(Kind.DATA));
        assertEquals(Set.of(low, next), Set.copyOf(tlb.entries(Kind.INSTRUCTION)),
                "INVLPG is for a page number: the 4 KiB entry at page 0 is another page");
    }

    // ---- every invalidation rule, as a table ---------------------------------------------------

    /** The invalidating operations of SDM 4.10.4.1, with the current (or descriptor) PCID = 1. */
    enum Operation {
        /** INVLPG m: the page's entries of the current PCID, and global entries of the page. */
        INVLPG((t, a) -> t.invalidatePage(a, CURRENT_PCID)),
        /** INVPCID type 0, individual address: the page's entries of the given PCID, except globals. */
        INVPCID_0_INDIVIDUAL_ADDRESS((t, a) -> t.invalidateAddress(a, CURRENT_PCID, false)),
        /** INVPCID type 1, single context: all entries of the given PCID, except globals. */
        INVPCID_1_SINGLE_CONTEXT((t, a) -> t.flushPcid(CURRENT_PCID)),
        /** INVPCID type 2, all contexts including globals. */
        INVPCID_2_ALL_INCLUDING_GLOBAL((t, a) -> t.flushAll()),
        /** INVPCID type 3, all contexts: every PCID's entries, except globals. */
        INVPCID_3_ALL_CONTEXTS((t, a) -> t.flushAllNonGlobal()),
        /** MOV to CR3 (bit 63 clear): the new PCID's entries, except globals. */
        MOV_CR3((t, a) -> t.flushNonGlobal(CURRENT_PCID)),
        /** MOV to CR4 changing PGE, or clearing PCIDE: everything, globals too. */
        MOV_CR4_PGE((t, a) -> t.flushAll()),
        /**
         * A #PF: the page's entries of the current PCID. The SDM does not name global entries here;
         * the model drops them too (a processor may invalidate more, 4.10.4.1), so that a fault
         * caused by a stale global entry does not recur.
         */
        PAGE_FAULT((t, a) -> t.invalidateAddress(a, CURRENT_PCID, true));

        final BiFunction<Tlb, Long, List<TlbEntry>> apply;

        Operation(BiFunction<Tlb, Long, List<TlbEntry>> apply) {
            this.apply = apply;
        }
    }

    /**
     * The table: operation | resident entry (global?, PCID) | survives. Each row runs for every
     * page size, with the entry in both TLBs and the operation's address in the middle of the page.
     */
    static Stream<Arguments> invalidationRules() {
        String table = """
                INVLPG                         | false | 1 | false
                INVLPG                         | false | 2 | true
                INVLPG                         | true  | 1 | false
                INVLPG                         | true  | 2 | false
                INVPCID_0_INDIVIDUAL_ADDRESS   | false | 1 | false
                INVPCID_0_INDIVIDUAL_ADDRESS   | false | 2 | true
                INVPCID_0_INDIVIDUAL_ADDRESS   | true  | 1 | true
                INVPCID_0_INDIVIDUAL_ADDRESS   | true  | 2 | true
                INVPCID_1_SINGLE_CONTEXT       | false | 1 | false
                INVPCID_1_SINGLE_CONTEXT       | false | 2 | true
                INVPCID_1_SINGLE_CONTEXT       | true  | 1 | true
                INVPCID_1_SINGLE_CONTEXT       | true  | 2 | true
                INVPCID_2_ALL_INCLUDING_GLOBAL | false | 1 | false
                INVPCID_2_ALL_INCLUDING_GLOBAL | false | 2 | false
                INVPCID_2_ALL_INCLUDING_GLOBAL | true  | 1 | false
                INVPCID_2_ALL_INCLUDING_GLOBAL | true  | 2 | false
                INVPCID_3_ALL_CONTEXTS         | false | 1 | false
                INVPCID_3_ALL_CONTEXTS         | false | 2 | false
                INVPCID_3_ALL_CONTEXTS         | true  | 1 | true
                INVPCID_3_ALL_CONTEXTS         | true  | 2 | true
                MOV_CR3                        | false | 1 | false
                MOV_CR3                        | false | 2 | true
                MOV_CR3                        | true  | 1 | true
                MOV_CR3                        | true  | 2 | true
                MOV_CR4_PGE                    | false | 1 | false
                MOV_CR4_PGE                    | false | 2 | false
                MOV_CR4_PGE                    | true  | 1 | false
                MOV_CR4_PGE                    | true  | 2 | false
                PAGE_FAULT                     | false | 1 | false
                PAGE_FAULT                     | false | 2 | true
                PAGE_FAULT                     | true  | 1 | false
                PAGE_FAULT                     | true  | 2 | false
                """;
        List<Arguments> rows = new ArrayList<>();
        for (String line : table.strip().split("\n")) {
            String[] c = line.split("\\|");
            for (PageSize size : Paging.SIZES) {
                rows.add(Arguments.of(Operation.valueOf(c[0].strip()), Boolean.parseBoolean(c[1].strip()),
                        Integer.parseInt(c[2].strip()), size, Boolean.parseBoolean(c[3].strip())));
            }
        }
        return rows.stream();
    }

    @ParameterizedTest(name = "[{index}] {0}: {3} global={1} pcid={2} survives={4}")
    @MethodSource("invalidationRules")
    void everyInvalidationFollowsSdm41041(Operation op, boolean global, int pcid, PageSize size, boolean survives) {
        TlbEntry e = entry(size, 3, pcid, global);
        tlb.fill(Kind.DATA, e);
        tlb.fill(Kind.INSTRUCTION, e);

        List<TlbEntry> removed = op.apply.apply(tlb, e.pageBase() + size.bytes() / 2 + 0x123);

        assertEquals(survives ? List.of() : List.of(e, e), removed);
        for (Kind kind : Kind.values()) {
            assertEquals(survives ? List.of(e) : List.of(), tlb.entries(kind), kind.name());
            assertEquals(survives ? e : null, tlb.peek(kind, e.pageBase(), pcid), kind.name());
            Tlb.Statistics s = tlb.statistics(kind);
            assertEquals(survives ? 0 : 1, s.invalidations(), kind + " invalidations");
            assertEquals(1, s.flushes(), kind + " flushes");
        }
    }

    /** The address-based operations leave other pages alone, whatever the entry. */
    @ParameterizedTest(name = "[{index}] {0}")
    @EnumSource(value = Operation.class, names = {"INVLPG", "INVPCID_0_INDIVIDUAL_ADDRESS", "PAGE_FAULT"})
    void addressedInvalidationsSpareOtherPages(Operation op) {
        List<TlbEntry> residents = new ArrayList<>();
        for (PageSize size : Paging.SIZES) {
            for (boolean global : new boolean[] {false, true}) {
                // Pages 1 and 3: neighbours of page 2, which the operation names.
                residents.add(entry(size, global ? 1 : 3, CURRENT_PCID, global));
            }
        }
        for (TlbEntry e : residents) {
            tlb.fill(Kind.DATA, e);
        }
        for (PageSize size : Paging.SIZES) {
            assertEquals(List.of(), op.apply.apply(tlb, page(size, 2) + 0x42));
        }
        assertEquals(Set.copyOf(residents), Set.copyOf(tlb.entries(Kind.DATA)));
    }

    @Test
    void movToCr3ForOnePcidLeavesEveryOtherPcidAlone() {
        Set<TlbEntry> expected = new HashSet<>();
        for (int pcid = 0; pcid < 4; pcid++) {
            TlbEntry e = entry(PageSize.SIZE_4K, pcid, pcid, false);
            tlb.fill(Kind.DATA, e);
            if (pcid != 2) {
                expected.add(e);
            }
        }
        tlb.flushNonGlobal(2);
        assertEquals(expected, Set.copyOf(tlb.entries(Kind.DATA)));
    }

    // ---- counters and contents -------------------------------------------------------------------

    @Test
    void statisticsCountEveryEventExactlyOncePerTlb() {
        TlbEntry a = entry(PageSize.SIZE_4K, 0, 0, false);  // set 0
        TlbEntry b = entry(PageSize.SIZE_4K, 4, 0, false);  // set 0
        TlbEntry c = entry(PageSize.SIZE_4K, 8, 0, false);  // set 0: evicts b, the LRU way
        TlbEntry code = entry(PageSize.SIZE_2M, 1, 0, true);

        tlb.fill(Kind.DATA, a);
        tlb.fill(Kind.DATA, b);
        tlb.fill(Kind.INSTRUCTION, code);
        assertSame(a, tlb.lookup(Kind.DATA, a.pageBase() + 8, 0));         // D hit
        assertNull(tlb.lookup(Kind.DATA, page(PageSize.SIZE_4K, 1), 0));    // D miss
        assertSame(code, tlb.lookup(Kind.INSTRUCTION, code.pageBase(), 5)); // I hit (global)
        assertNull(tlb.lookup(Kind.INSTRUCTION, a.pageBase(), 0));          // I miss
        tlb.peek(Kind.DATA, a.pageBase(), 0);                               // counts nothing
        tlb.peek(Kind.DATA, 0, 0);                                          // counts nothing
        assertEquals(List.of(b), tlb.fill(Kind.DATA, c));                   // D fill + eviction
        assertEquals(2, tlb.invalidatePage(code.pageBase(), 0).size() + tlb.invalidatePage(a.pageBase(), 0).size());
        tlb.flushNonGlobal(7);                                              // removes nothing, still a flush
        tlb.remove(Kind.DATA, c);                                           // dropped by the model: an eviction

        // hits, misses, fills, evictions, invalidations, flushes
        assertEquals(new Tlb.Statistics(1, 1, 3, 2, 1, 3), tlb.statistics(Kind.DATA));
        assertEquals(new Tlb.Statistics(1, 1, 1, 0, 1, 3), tlb.statistics(Kind.INSTRUCTION));
        assertEquals(List.of(), tlb.entries(Kind.DATA));
        assertEquals(List.of(), tlb.entries(Kind.INSTRUCTION));
    }

    @Test
    void statisticsAreASnapshot() {
        Tlb.Statistics before = tlb.statistics(Kind.DATA);
        tlb.lookup(Kind.DATA, BASE, 0);
        assertEquals(new Tlb.Statistics(0, 0, 0, 0, 0, 0), before);
        assertEquals(1, tlb.statistics(Kind.DATA).misses());
    }

    @Test
    void entriesListsWhatIsResidentBySizeThenSetThenWay() {
        TlbEntry huge = entry(PageSize.SIZE_1G, 1, 0, false);
        TlbEntry large = entry(PageSize.SIZE_2M, 6, 0, true);
        TlbEntry set3 = entry(PageSize.SIZE_4K, 3, 1, false);
        TlbEntry set1 = entry(PageSize.SIZE_4K, 1, 1, false);
        TlbEntry set1b = entry(PageSize.SIZE_4K, 5, 2, false);
        for (TlbEntry e : List.of(huge, large, set3, set1, set1b)) {
            tlb.fill(Kind.DATA, e);
        }
        assertEquals(List.of(set1, set1b, set3, large, huge), tlb.entries(Kind.DATA));
        assertEquals(List.of(), tlb.entries(Kind.INSTRUCTION));

        tlb.flushPcid(1);
        assertEquals(List.of(set1b, large, huge), tlb.entries(Kind.DATA));
        tlb.flushAllNonGlobal();
        assertEquals(List.of(large), tlb.entries(Kind.DATA));
        tlb.flushAll();
        assertEquals(List.of(), tlb.entries(Kind.DATA));
    }

    @Test
    void theSkylakeDefaultHoldsWhatItsTableSays() {
        TlbConfig c = TlbConfig.skylake();
        assertEquals(128, c.geometry(Kind.INSTRUCTION, PageSize.SIZE_4K).entries());
        assertEquals(8, c.geometry(Kind.INSTRUCTION, PageSize.SIZE_2M).entries());
        assertEquals(64, c.geometry(Kind.DATA, PageSize.SIZE_4K).entries());
        assertEquals(32, c.geometry(Kind.DATA, PageSize.SIZE_2M).entries());
        assertEquals(4, c.geometry(Kind.DATA, PageSize.SIZE_1G).entries());
        // DTLB 4 KiB: 16 sets x 4 ways. Pages 0..63 fill every way of every set; page 64 (set 0) evicts.
        Tlb real = new Tlb(c);
        int evicted = 0;
        for (long n = 0; n < 65; n++) {
            evicted += real.fill(Kind.DATA, entry(PageSize.SIZE_4K, n, 0, false)).size();
        }
        assertEquals(1, evicted);
        assertEquals(64, real.entries(Kind.DATA).size());
    }

    @Test
    void geometryRejectsSetCountsThatAreNotPowersOfTwo() {
        assertThrows(IllegalArgumentException.class, () -> new TlbConfig.Geometry(3, 4));
        assertThrows(IllegalArgumentException.class, () -> new TlbConfig.Geometry(4, -1));
        assertEquals(0, new TlbConfig.Geometry(0, 0).entries());
    }
}
