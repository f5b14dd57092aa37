package dev.pml4.mmu;

import dev.pml4.mmu.Tlb.Kind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static dev.pml4.mmu.Paging.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The MMU on real page tables in RAM (the {@link Paging} chain) with a strict fake engine: walks on
 * a miss, hits without a walk, the dirty-flag rewalk, stale translations until an invalidation,
 * faults that are never cached and that invalidate, and exact #PF error codes. SDM Vol. 3A 4.7
 * (error codes), 4.8 (A/D flags), 4.10.2 (TLBs), 4.10.4.1 and 4.10.4.3 (invalidation).
 *
 * <p>Layout, all in the Paging chain's tables: 4 KiB pages {@link #page}(i) are PT[i] of the PD[3]
 * region; {@link #LARGE} is a 2 MiB page at PD[5] onto physical 6 MiB; {@link #HUGE} is a 1 GiB page
 * at PDPT[3] onto physical 0 (RAM for its first 8 MiB, a hole above).
 */
class MmuTest {
    /** PML4[1] PDPT[2] PD[3]: the 2 MiB region whose page table is Paging.PT. */
    static final long REGION = LINEAR & ~0x1f_ffffL;
    static final long LARGE = REGION + 0x40_0000L;
    static final long HUGE = 0x0000_0080_c000_0000L;
    static final long FRAME_A = 0x10000;
    static final long FRAME_B = 0x11000;
    static final int MARK_A = 0xaa;
    static final int MARK_B = 0xbb;

    private final Paging p = new Paging();
    private final RecordingMapper engine = new RecordingMapper(p.mem);
    private Tlb tlb = new Tlb(TlbConfig.skylake());
    private Mmu mmu = new Mmu(p.mem, p.walker(), tlb, engine);
    private final PagingState s = state("WP NXE");

    @AfterEach
    void close() {
        p.close();
    }

    static long page(int i) {
        return REGION + ((long) i << 12);
    }

    void map4k(long linear, long frame, String pte) {
        p.chain(PageSize.SIZE_4K, linear, "W U", "W U", "W U", "-");
        p.set(PagingLevel.PT, linear, frame | flags(pte));
    }

    void map2m(long frame, String pde) {
        p.chain(PageSize.SIZE_2M, LARGE, "W U", "W U", "-", "-");
        p.set(PagingLevel.PD, LARGE, frame | PS | flags(pde));
    }

    void map1g(String pdpte) {
        p.chain(PageSize.SIZE_1G, HUGE, "W U", "-", "-", "-");
        p.set(PagingLevel.PDPT, HUGE, PS | flags(pdpte)); // frame 0
    }

    /** The leaf entry of a page of {@code size}: PTE, PDE or PDPTE. */
    PagingLevel leaf(PageSize size) {
        return switch (size) {
            case SIZE_4K -> PagingLevel.PT;
            case SIZE_2M -> PagingLevel.PD;
            case SIZE_1G -> PagingLevel.PDPT;
            case SIZE_4M -> throw new IllegalArgumentException("4-level paging has no 4 MiB pages");
        };
    }

    /** A linear address in a page of {@code size}, mapped W U with A and D clear, and its physical address. */
    long[] mapPage(PageSize size, long offset) {
        return switch (size) {
            case SIZE_4K -> {
                map4k(page(1), FRAME_A, "W U");
                yield new long[] {page(1) + offset, FRAME_A + offset};
            }
            case SIZE_2M -> {
                map2m(0x600000, "W U");
                yield new long[] {LARGE + offset, 0x600000 + offset};
            }
            case SIZE_1G -> {
                map1g("W U");
                yield new long[] {HUGE + offset, offset};
            }
            case SIZE_4M -> throw new IllegalArgumentException("4-level paging has no 4 MiB pages");
        };
    }

    static PagingState withPcid(PagingState s, int pcid) {
        return new PagingState(s.cr0(), (s.cr3() & ~0xfffL) | pcid, s.cr4(), s.efer(), s.alignmentCheck());
    }

    static int need(AccessType type) {
        return switch (type) {
            case READ -> ResidentMappings.READ;
            case WRITE -> ResidentMappings.WRITE;
            case FETCH -> ResidentMappings.EXEC;
        };
    }

    /**
     * One access as the engine makes it: straight through its mapping when that allows it (the MMU
     * sees nothing), else through the MMU (Unicorn's UNMAPPED/PROT hook), after which the retry must
     * find a mapping that allows it. Null when the engine needed no help.
     */
    Mmu.AccessResult access(long linear, AccessType type, AccessMode mode, PagingState state) {
        if (engine.allows(linear, need(type))) {
            return null;
        }
        Mmu.AccessResult r = mmu.access(linear, 1, type, mode, state);
        if (r.fault() == null && !r.nonexistentMemory()) {
            assertTrue(engine.allows(linear, need(type)), () -> String.format(
                    "after the MMU said yes, the engine still cannot %s 0x%x: %s", type, linear, engine.log()));
        }
        return r;
    }

    /** A user read that must succeed; the byte the engine reads. */
    int read(long linear, PagingState state) {
        Mmu.AccessResult r = access(linear, AccessType.READ, AccessMode.USER, state);
        assertTrue(r == null || r.fault() == null, () -> "unexpected " + r.fault().describe());
        return engine.read(linear);
    }

    int read(long linear) {
        return read(linear, s);
    }

    void write(long linear) {
        Mmu.AccessResult r = access(linear, AccessType.WRITE, AccessMode.USER, s);
        assertTrue(r == null || r.fault() == null, () -> "unexpected " + r.fault().describe());
    }

    PageFault fault(long linear, AccessType type, AccessMode mode, PagingState state) {
        Mmu.AccessResult r = access(linear, type, mode, state);
        assertNotNull(r, "the engine had a mapping that allowed the access");
        assertNotNull(r.fault(), "no fault");
        return r.fault();
    }

    String rwx(long linear) {
        return RecordingMapper.rwx(mmu.mappings().chunkAt(linear).perms());
    }

    // ---- miss, fill, hit -------------------------------------------------------------------------

    /**
     * A miss walks once, caches the translation in the TLB of its kind (SDM 4.10.2.2) and maps the
     * page for the engine: read-only after a read, writable after a write (the walk set D),
     * execute-only after a fetch. A 1 GiB page over RAM and a hole is mapped 2 MiB at a time.
     */
    @ParameterizedTest(name = "[{index}] {0} {1} at +{2}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | READ  | 0x567     | DATA        | 0x1000   | r--
            SIZE_4K | WRITE | 0x567     | DATA        | 0x1000   | rw-
            SIZE_4K | FETCH | 0x567     | INSTRUCTION | 0x1000   | --x
            SIZE_2M | READ  | 0x12345   | DATA        | 0x200000 | r--
            SIZE_2M | WRITE | 0x1fffff  | DATA        | 0x200000 | rw-
            SIZE_2M | FETCH | 0x1ff000  | INSTRUCTION | 0x200000 | --x
            SIZE_1G | READ  | 0x123456  | DATA        | 0x200000 | r--
            SIZE_1G | WRITE | 0x7ffff0  | DATA        | 0x200000 | rw-
            SIZE_1G | FETCH | 0x1000    | INSTRUCTION | 0x200000 | --x
            SIZE_1G | READ  | 0x1234567 | DATA        | 0x200000 | r--
            """)
    void aMissWalksOnceFillsTheTlbOfItsKindAndMapsThePage(PageSize size, AccessType type, String offset, Kind kind,
                                                        String chunk, String perms) {
        long[] at = mapPage(size, Long.decode(offset));
        long linear = at[0];

        assertNull(access(linear, type, AccessMode.USER, s).fault());

        assertEquals(1, mmu.walks());
        TlbEntry e = tlb.entries(kind).getFirst();
        assertEquals(List.of(new TlbEntry(linear & ~size.offsetMask(), at[1] & ~size.offsetMask(), size,
                new PageRights(true, true, true), false, 0, type == AccessType.WRITE)), tlb.entries(kind));
        assertEquals(List.of(), tlb.entries(kind == Kind.DATA ? Kind.INSTRUCTION : Kind.DATA));
        assertEquals(new Tlb.Statistics(0, 1, 1, 0, 0, 0), tlb.statistics(kind));
        assertEquals(Long.decode(chunk), mmu.mappings().chunkAt(linear).size());
        assertEquals(perms, rwx(linear));
        assertEquals(at[1], engine.physical(linear));
        assertEquals(at[1], e.physicalAddress(linear));
        // SDM 4.10.2.3: a translation is cached only with A set in every entry used.
        for (int i = 0; i < depth(size); i++) {
            assertEquals(A, p.get(Paging.LEVELS.get(i), linear) & A, Paging.LEVELS.get(i).entryName());
        }
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @EnumSource(value = PageSize.class, names = {"SIZE_4K", "SIZE_2M", "SIZE_1G"})
    void aSecondAccessToThePageHitsWithoutWalking(PageSize size) {
        long linear = mapPage(size, 0x100)[0];
        assertNull(mmu.access(linear, 8, AccessType.READ, AccessMode.USER, s).fault());
        assertNull(mmu.access(linear + 0x800, 4, AccessType.READ, AccessMode.USER, s).fault());
        assertEquals(1, mmu.walks());

        // The engine needs no help at all now; after its mappings are dropped (a CPL change) the
        // TLB still has the page: mapped again, without a walk.
        assertNull(access(linear + 0x10, AccessType.READ, AccessMode.USER, s));
        mmu.rightsContextChanged();
        assertNull(engine.at(linear));
        assertNull(access(linear + 0x20, AccessType.READ, AccessMode.USER, s).fault());
        assertEquals(1, mmu.walks());
        assertEquals(new Tlb.Statistics(2, 1, 1, 0, 0, 0), tlb.statistics(Kind.DATA));
    }

    /** SDM 4.10.2.2: instruction fetches use their own TLB; a data entry never serves a fetch. */
    @Test
    void aFetchDoesNotUseTheDataTlbAndTheMappingGrowsExecute() {
        map4k(page(1), FRAME_A, "W U");
        read(page(1));
        assertNull(access(page(1) + 0x40, AccessType.FETCH, AccessMode.USER, s).fault());
        assertEquals(2, mmu.walks());
        assertEquals("r-x", rwx(page(1)));
        assertEquals(1, tlb.entries(Kind.INSTRUCTION).size());
        assertEquals(1, tlb.entries(Kind.DATA).size());
    }

    // ---- the dirty flag --------------------------------------------------------------------------

    /**
     * SDM 4.8 and 4.10.2.2: an entry caches the leaf's D flag. A write through an entry whose D is
     * clear walks again, which sets D in memory; until then the engine maps the page read-only
     * (DESIGN.md), so that first write comes back to the MMU. Later writes need nobody.
     */
    @ParameterizedTest(name = "[{index}] {0}")
    @EnumSource(value = PageSize.class, names = {"SIZE_4K", "SIZE_2M", "SIZE_1G"})
    void aWriteThroughACleanEntryWalksAgainAndSetsTheDirtyFlag(PageSize size) {
        long linear = mapPage(size, 0x468)[0];
        PagingLevel leaf = leaf(size);

        read(linear);
        assertEquals("r--", rwx(linear));
        assertEquals(0, p.get(leaf, linear) & D);
        assertFalse(tlb.entries(Kind.DATA).getFirst().dirty());

        write(linear + 1);
        assertEquals(2, mmu.walks(), "the write walked again");
        assertEquals(D, p.get(leaf, linear) & D);
        assertTrue(tlb.entries(Kind.DATA).getFirst().dirty());
        assertEquals(1, tlb.entries(Kind.DATA).size());
        assertEquals("rw-", rwx(linear));

        assertNull(access(linear + 2, AccessType.WRITE, AccessMode.USER, s), "the engine writes on its own now");
        assertEquals(2, mmu.walks());
    }

    @Test
    void aFirstWriteWalksOnceAndIsMappedWritable() {
        map4k(page(1), FRAME_A, "W U");
        write(page(1));
        assertEquals(1, mmu.walks());
        assertEquals("rw-", rwx(page(1)));
        assertEquals(A | D, p.get(PagingLevel.PT, page(1)) & (A | D));
    }

    @Test
    void aSupervisorWriteToAReadOnlyPageWithoutWpStillSetsDirtyFirst() {
        map4k(page(1), FRAME_A, "-");
        PagingState noWp = state("NXE");
        assertNull(mmu.access(page(1), 1, AccessType.READ, AccessMode.SUPERVISOR, noWp).fault());
        assertEquals("r--", rwx(page(1)));
        assertNull(mmu.access(page(1), 1, AccessType.WRITE, AccessMode.SUPERVISOR, noWp).fault());
        assertEquals(2, mmu.walks());
        assertEquals(D, p.get(PagingLevel.PT, page(1)) & D);
        assertEquals("rw-", rwx(page(1)));
    }

    /**
     * SDM 4.10.4.3: clearing A or D in memory without an invalidation may leave the processor not
     * setting them again, because the cached entry already says they are set. INVLPG ends that.
     */
    @Test
    void accessedAndDirtyClearedInMemoryStayClearUntilInvlpg() {
        map4k(page(1), FRAME_A, "W U");
        write(page(1));
        p.andNot(PagingLevel.PT, page(1), A | D);
        mmu.rightsContextChanged(); // drop the engine's mapping so the MMU sees the next write

        write(page(1) + 8);
        assertEquals(1, mmu.walks());
        assertEquals(0, p.get(PagingLevel.PT, page(1)) & (A | D), "the cached dirty entry served the write");

        mmu.invlpg(page(1), s);
        write(page(1) + 8);
        assertEquals(2, mmu.walks());
        assertEquals(A | D, p.get(PagingLevel.PT, page(1)) & (A | D));
    }

    // ---- stale translations and INVLPG ------------------------------------------------------------

    /**
     * SDM 4.10.2.3 and 4.10.4.1: the processor may keep using a cached translation after software
     * changes the paging structures; INVLPG of any address in the page removes it, and the next
     * access walks and sees the new entry. The engine reaches the old frame until then.
     */
    @ParameterizedTest(name = "[{index}] {0}, INVLPG at +{1}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | 0x0
            SIZE_4K | 0xfff
            SIZE_2M | 0x0
            SIZE_2M | 0x1ff800
            SIZE_2M | 0x123456
            """)
    void aChangedEntryIsNotSeenUntilInvlpg(PageSize size, String invlpgOffset) {
        long linear;
        long newFrame;
        if (size == PageSize.SIZE_4K) {
            linear = page(1) + 0x10;
            newFrame = FRAME_B;
            map4k(page(1), FRAME_A, "W U");
            p.mem.write8(FRAME_A + 0x10, MARK_A);
            p.mem.write8(FRAME_B + 0x10, MARK_B);
        } else {
            linear = LARGE + 0x1f_0010;
            newFrame = 0x400000;
            map2m(0x600000, "W U");
            p.mem.write8(0x7f_0010, MARK_A);
            p.mem.write8(0x5f_0010, MARK_B);
        }
        assertEquals(MARK_A, read(linear));

        // The guest points the entry elsewhere and forgets INVLPG.
        if (size == PageSize.SIZE_4K) {
            map4k(page(1), newFrame, "W U");
        } else {
            map2m(newFrame, "W U");
        }
        assertEquals(MARK_A, read(linear), "the engine's mapping still reaches the old frame");
        mmu.rightsContextChanged();
        assertEquals(MARK_A, read(linear), "so does the TLB entry, without a walk");
        assertEquals(1, mmu.walks());

        long base = linear & ~size.offsetMask();
        mmu.invlpg(base + Long.decode(invlpgOffset), s);
        assertEquals(List.of(), tlb.entries(Kind.DATA));
        assertNull(engine.at(linear));
        assertTrue(mmu.mappings().chunks().isEmpty());

        assertEquals(MARK_B, read(linear));
        assertEquals(2, mmu.walks());
    }

    @Test
    void invlpgRemovesTheCodeAndDataEntriesAndEveryChunkOfALargePage() {
        map2m(0x600000, "W U");
        read(LARGE + 0x1000);
        access(LARGE + 0x3000, AccessType.FETCH, AccessMode.USER, s);
        read(LARGE + 0x1f_f000);
        assertFalse(engine.mappings().isEmpty());

        mmu.invlpg(LARGE + 0x10_0000, s);

        assertEquals(List.of(), tlb.entries(Kind.DATA));
        assertEquals(List.of(), tlb.entries(Kind.INSTRUCTION));
        assertEquals(List.of(), engine.mappings());
    }

    @Test
    void invlpgOfAnotherPageLeavesThisOneAlone() {
        map4k(page(1), FRAME_A, "W U");
        map4k(page(2), FRAME_B, "W U");
        read(page(1));
        read(page(2));
        mmu.invlpg(page(2) + 0xfff, s);
        assertNotNull(engine.at(page(1)));
        assertNull(engine.at(page(2)));
        assertEquals(1, tlb.entries(Kind.DATA).size());
        assertEquals(page(1), tlb.entries(Kind.DATA).getFirst().pageBase());
    }

    // ---- faults: never cached, and they invalidate ------------------------------------------------

    /**
     * SDM 4.10.2.3: there is a TLB entry for a page number only if P = 1 in every entry used; so
     * (4.10.4.3) making an entry present needs no invalidation: the next access walks.
     */
    @ParameterizedTest(name = "[{index}] not present in the {0}")
    @EnumSource(value = PagingLevel.class, names = {"PML4", "PDPT", "PD", "PT"})
    void aNotPresentFaultIsNotCached(PagingLevel level) {
        map4k(page(2), FRAME_A, "W U");
        p.andNot(level, page(2), P);

        PageFault f = fault(page(2) + 0x34, AccessType.READ, AccessMode.USER, s);
        assertEquals(PageFaultErrorCode.U, f.errorCode());
        assertEquals(page(2) + 0x34, f.linearAddress());
        assertEquals(List.of(), tlb.entries(Kind.DATA));
        assertEquals(List.of(), engine.mappings());
        assertEquals(1, mmu.pageFaults());

        p.or(level, page(2), P); // no INVLPG
        assertEquals(0, read(page(2) + 0x34));
        assertEquals(2, mmu.walks());
    }

    /**
     * SDM 4.10.4.3: after R/W goes 0 to 1 without an invalidation a write may take a spurious #PF
     * from the stale entry, but only once: the #PF invalidates the page's entries in both TLBs
     * (4.10.4.1, page faults), and the next write walks and succeeds.
     */
    @Test
    void aPermissionFaultFromACachedEntryInvalidatesItSoItHappensOnce() {
        map4k(page(3), FRAME_A, "U");
        read(page(3));
        assertNull(access(page(3), AccessType.FETCH, AccessMode.USER, s).fault());
        assertEquals("r-x", rwx(page(3)));
        assertEquals(2, mmu.walks());

        p.or(PagingLevel.PT, page(3), W); // made writable, no INVLPG
        PageFault f = fault(page(3) + 0x99, AccessType.WRITE, AccessMode.USER, s);
        assertEquals(PageFaultErrorCode.P | PageFaultErrorCode.W | PageFaultErrorCode.U, f.errorCode());
        assertEquals(page(3) + 0x99, f.linearAddress());
        assertEquals(2, mmu.walks(), "the cached entry refused the write: no walk");
        assertEquals(List.of(), tlb.entries(Kind.DATA));
        assertEquals(List.of(), tlb.entries(Kind.INSTRUCTION));
        assertNull(engine.at(page(3)));

        write(page(3) + 0x99);
        assertEquals(3, mmu.walks());
        assertEquals("rw-", rwx(page(3)));
    }

    /**
     * The #PF error code (SDM 4.7) and CR2 (the exact linear address) for faults found by a walk,
     * and for protection faults found in an entry cached by an earlier access that was allowed
     * ("primed"). Either way exactly one walk happened, and nothing is cached or mapped after the fault.
     */
    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            PTE not present, user read                  | !P        | W U       | -         | USER                | READ  | -                | 0x4
            PTE not present, supervisor write           | !P        | W U       | -         | SUPERVISOR          | WRITE | -                | 0x2
            PTE not present, user fetch, no NXE/SMEP    | !P        | W U       | WP        | USER                | FETCH | -                | 0x4
            PDE not present, supervisor fetch, NXE      | W U       | !P        | NXE       | SUPERVISOR          | FETCH | -                | 0x10
            user write to read-only page                | U         | W U       | -         | USER                | WRITE | -                | 0x7
            user write to read-only page, cached        | U         | W U       | -         | USER                | WRITE | USER READ        | 0x7
            user write, read-only PDE                   | W U       | U         | -         | USER                | WRITE | USER READ        | 0x7
            user read of supervisor page                | W         | W U       | -         | USER                | READ  | -                | 0x5
            user read of supervisor page, cached        | W         | W U       | -         | USER                | READ  | SUPERVISOR READ  | 0x5
            user fetch from NX page                     | W U XD    | W U       | NXE       | USER                | FETCH | -                | 0x15
            supervisor fetch from NX PDE                | W         | W XD      | NXE       | SUPERVISOR          | FETCH | -                | 0x11
            supervisor write to read-only page, WP      | -         | W U       | WP        | SUPERVISOR          | WRITE | -                | 0x3
            supervisor write to read-only page, cached  | -         | W U       | WP        | SUPERVISOR          | WRITE | SUPERVISOR READ  | 0x3
            reserved bit 40 in PTE, user read           | W U bit40 | W U       | -         | USER                | READ  | -                | 0xd
            reserved bit 45 in PDE, supervisor write    | W U       | W U bit45 | -         | SUPERVISOR          | WRITE | -                | 0xb
            reserved XD without NXE, user fetch         | W U XD    | W U       | -         | USER                | FETCH | -                | 0xd
            SMEP, supervisor fetch from user page       | W U       | W U       | SMEP      | SUPERVISOR          | FETCH | -                | 0x11
            SMEP, cached by a user fetch                | W U       | W U       | SMEP      | SUPERVISOR          | FETCH | USER FETCH       | 0x11
            SMAP, supervisor read of user page          | W U       | W U       | SMAP      | SUPERVISOR          | READ  | -                | 0x1
            SMAP, cached by a user read                 | W U       | W U       | SMAP      | SUPERVISOR          | READ  | USER READ        | 0x1
            SMAP, implicit write ignores AC             | W U       | W U       | SMAP AC   | IMPLICIT_SUPERVISOR | WRITE | USER WRITE       | 0x3
            """)
    void pageFaultErrorCodesAndAddresses(String what, String pte, String pde, String cpu, AccessMode mode,
                                         AccessType type, String primedBy, String code) {
        long linear = page(6) + 0x567;
        p.chain(PageSize.SIZE_4K, linear, "W U", "W U", pde, "-");
        p.set(PagingLevel.PT, linear, FRAME_A | flags(pte));
        PagingState state = state(cpu);
        if (!primedBy.equals("-")) {
            String[] by = primedBy.split(" ");
            Mmu.AccessResult primed = mmu.access(linear + 1, 1, AccessType.valueOf(by[1]), AccessMode.valueOf(by[0]), state);
            assertNull(primed.fault(), "the priming access is allowed");
            mmu.rightsContextChanged(); // the engine keeps nothing: the MMU decides the next access
        }

        PageFault f = fault(linear, type, mode, state);

        assertEquals(Integer.decode(code), f.errorCode(), () -> PageFaultErrorCode.describe(f.errorCode()) + ": " + f.reason());
        assertEquals(linear, f.linearAddress(), "CR2");
        assertEquals(1, mmu.walks(), "one walk: the priming access's, or the faulting access's own");
        assertEquals(1, mmu.pageFaults());
        assertEquals(List.of(), tlb.entries(Kind.DATA));
        assertEquals(List.of(), tlb.entries(Kind.INSTRUCTION));
        assertEquals(List.of(), engine.mappings());
    }

    /** An access across a page boundary faults on the page that refuses it: CR2 is that page's first byte. */
    @Test
    void anAccessAcrossPagesFaultsAtTheFirstByteOfTheRefusingPage() {
        map4k(page(7), FRAME_A, "W U");
        map4k(page(8), FRAME_B, "!P");
        Mmu.AccessResult r = mmu.access(page(7) + 0xffc, 8, AccessType.READ, AccessMode.USER, s);
        assertEquals(page(8), r.fault().linearAddress());
        assertEquals(PageFaultErrorCode.U, r.fault().errorCode());
        assertNotNull(engine.at(page(7)), "the first page was translated and stays cached");

        map4k(page(7), FRAME_A, "!P");
        mmu.invlpg(page(7), s);
        r = mmu.access(page(7) + 0xffc, 8, AccessType.READ, AccessMode.USER, s);
        assertEquals(page(7) + 0xffc, r.fault().linearAddress());
    }

    // ---- MOV to CR3, PCIDs, global pages -------------------------------------------------------------

    /**
     * SDM 4.10.4.1, MOV to CR3: the non-global entries of the (new) PCID go. SDM 4.10.2.4: an entry
     * is global only if G = 1 in the leaf <em>and</em> CR4.PGE = 1 when it was cached; globals stay,
     * with their mapping, and the next access needs no walk.
     */
    @ParameterizedTest(name = "[{index}] CR4.PGE={0} G={1} -> survives={2}")
    @CsvSource(delimiter = '|', textBlock = """
            true  | true  | true
            true  | false | false
            false | true  | false
            false | false | false
            """)
    void movToCr3KeepsGlobalEntriesOnlyWithPge(boolean pge, boolean g, boolean survives) {
        PagingState state = state(pge ? "WP NXE PGE" : "WP NXE");
        map4k(page(4), FRAME_A, g ? "W U G" : "W U");
        map4k(page(5), FRAME_B, "W U"); // a bystander, never global
        read(page(4), state);
        read(page(5), state);
        assertEquals(pge && g, tlb.entries(Kind.DATA).stream().filter(e -> e.pageBase() == page(4)).findFirst().orElseThrow().global());

        mmu.invalidate("MOV to CR3", tlb.flushNonGlobal(Mmu.currentPcid(state)));

        assertEquals(survives, tlb.peek(Kind.DATA, page(4), 0) != null);
        assertEquals(survives, engine.at(page(4)) != null);
        assertNull(tlb.peek(Kind.DATA, page(5), 0));
        assertNull(engine.at(page(5)));
        mmu.rightsContextChanged();
        read(page(4), state);
        assertEquals(survives ? 2 : 3, mmu.walks());
    }

    /**
     * SDM 4.10.1: entries are tagged with the PCID current when they were cached and used only under
     * it. MOV to CR3 invalidates only the new PCID's non-global entries (4.10.4.1), and none at all
     * with bit 63 set; another PCID's entries wait for it to come back.
     */
    @Test
    void pcidTaggedEntriesSurviveASwitchToAnotherPcid() {
        PagingState pcids = state("WP NXE PGE PCIDE");
        PagingState one = withPcid(pcids, 1);
        PagingState two = withPcid(pcids, 2);
        map4k(page(1), FRAME_A, "W U");
        map4k(page(2), FRAME_B, "W U G");
        p.mem.write8(FRAME_A, MARK_A);
        p.mem.write8(FRAME_B, MARK_B);
        assertEquals(MARK_A, read(page(1), one));
        assertEquals(MARK_B, read(page(2), one));
        assertEquals(2, mmu.walks());

        // MOV CR3 <- PML4 | 2: flush PCID 2's non-global entries, drop the engine's mappings.
        mmu.invalidate("MOV to CR3", tlb.flushNonGlobal(2));
        mmu.rightsContextChanged();
        // PCID 2 sees the page tables as they are now; PCID 1's entry is not used for it.
        map4k(page(1), FRAME_B, "W U");
        assertEquals(MARK_B, read(page(1), two));
        assertEquals(MARK_B, read(page(2), two), "the global entry serves every PCID");
        assertEquals(3, mmu.walks());
        assertEquals(3, tlb.entries(Kind.DATA).size());

        // MOV CR3 <- PML4 | 1 | bit 63: no flush; PCID 1's stale entry is back in use.
        mmu.rightsContextChanged();
        assertEquals(MARK_A, read(page(1), one));
        assertEquals(3, mmu.walks());

        // INVLPG under PCID 1 removes PCID 1's entry and the global one, not PCID 2's.
        mmu.invlpg(page(1), one);
        mmu.invlpg(page(2), one);
        assertEquals(List.of(new TlbEntry(page(1), FRAME_B, PageSize.SIZE_4K, new PageRights(true, true, true), false, 2, false)),
                tlb.entries(Kind.DATA));

        // MOV CR3 <- PML4 | 2 without bit 63: PCID 2's non-global entries go too.
        mmu.invalidate("MOV to CR3", tlb.flushNonGlobal(2));
        assertEquals(List.of(), tlb.entries(Kind.DATA));
    }

    @Test
    void theListenerHearsOfWalksAndInvalidations() {
        StringBuilder heard = new StringBuilder();
        mmu.setListener(new Mmu.Listener() {
            @Override
            public void walked(Kind kind, AccessType type, WalkResult result) {
                heard.append("walk ").append(kind).append(' ').append(result instanceof PageFault ? "fault" : "ok").append('\n');
            }

            @Override
            public void invalidated(String cause, List<TlbEntry> entries) {
                heard.append(cause).append(' ').append(entries.size()).append('\n');
            }
        });
        map4k(page(1), FRAME_A, "W U");
        read(page(1));
        mmu.invlpg(page(1), s);
        mmu.invlpg(page(1), s); // nothing left: not reported
        map4k(page(1), FRAME_A, "!P");
        fault(page(1), AccessType.READ, AccessMode.USER, s);
        assertEquals("walk DATA ok\nINVLPG 1\nwalk DATA fault\n", heard.toString());
    }

    // ---- a page size the TLB cannot hold ------------------------------------------------------------

    /**
     * TlbConfig lets a page size have no entries: its translations are used and not kept. The engine
     * must not keep them either, or INVLPG (which finds no entry) would leave the old translation
     * mapped for good: SDM 4.10.4.1 requires the next access after INVLPG to use the paging
     * structures.
     */
    @Test
    void aTranslationTheTlbCannotHoldIsNotUsedAfterInvlpg() {
        Map<PageSize, TlbConfig.Geometry> only4k = new EnumMap<>(PageSize.class);
        only4k.put(PageSize.SIZE_4K, new TlbConfig.Geometry(16, 4));
        tlb = new Tlb(new TlbConfig(only4k, only4k));
        mmu = new Mmu(p.mem, p.walker(), tlb, engine);
        map2m(0x600000, "W U");
        p.mem.write8(0x600010, MARK_A);
        p.mem.write8(0x400010, MARK_B);
        assertEquals(MARK_A, read(LARGE + 0x10));
        assertEquals(List.of(), tlb.entries(Kind.DATA));

        map2m(0x400000, "W U");
        mmu.invlpg(LARGE + 0x10, s);
        assertNull(engine.at(LARGE + 0x10));
        assertEquals(MARK_B, read(LARGE + 0x10));
        assertEquals(2, mmu.walks());

        // MOV to CR3 finds nothing in the TLB either, and must not leave the page mapped.
        map2m(0x600000, "W U");
        mmu.invalidate("MOV to CR3", tlb.flushNonGlobal(0));
        assertNull(engine.at(LARGE + 0x10));
        assertEquals(MARK_A, read(LARGE + 0x10));
        assertEquals(3, mmu.walks());
    }

    /**
     * Every change that narrows what the resident mappings allow reaches them (issue 13): a page the
     * engine mapped while the wider rule held (AC = 1 under SMAP, CR0.WP = 0, SMEP off, CPL 0) no
     * longer serves the access once {@link Mmu#restrictTo} has seen the narrower state, and the
     * access faults with the error code of a fresh check; the TLB entry itself stays.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            SMAP: STAC, then CLAC (or POPF, IRET)  | W U | SMAP WP AC | SMAP WP  | SUPERVISOR | SUPERVISOR | READ  | 0x1
            CR0.WP set                             | U   | -          | WP       | SUPERVISOR | SUPERVISOR | WRITE | 0x3
            CR4.SMEP set                           | W U | WP         | SMEP WP  | SUPERVISOR | SUPERVISOR | FETCH | 0x11
            CPL 0 to 3, supervisor page            | W   | WP         | WP       | SUPERVISOR | USER       | READ  | 0x5
            """)
    void aNarrowingChangeReachesThePagesTheEngineMapped(String what, String pte, String before, String after,
                                                        AccessMode modeBefore, AccessMode modeAfter, AccessType type, String code) {
        long linear = page(7) + 0x10;
        map4k(linear, FRAME_A, pte);
        PagingState wide = state(before);
        if (type == AccessType.WRITE) {
            // A dirty entry, so that the engine maps the page writable.
            assertNull(mmu.access(linear, 1, type, modeBefore, wide).fault());
        }
        assertNull(access(linear, type, modeBefore, wide) instanceof Mmu.AccessResult r ? r.fault() : null, what);
        assertTrue(engine.allows(linear, need(type)), "the engine serves the access under the wider rule");

        PagingState narrow = state(after);
        mmu.restrictTo(modeAfter, narrow);

        assertFalse(engine.allows(linear, need(type)), () -> what + ": still mapped " + rwx(linear));
        PageFault f = fault(linear, type, modeAfter, narrow);
        assertEquals(Integer.decode(code), f.errorCode(), () -> PageFaultErrorCode.describe(f.errorCode()));
    }
}
