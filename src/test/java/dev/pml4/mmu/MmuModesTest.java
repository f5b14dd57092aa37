package dev.pml4.mmu;

import dev.pml4.mmu.Tlb.Kind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The TLB in every paging mode (SDM 4.10): one walk fills an entry of the mode's page size, hits
 * walk nothing, a changed entry is not seen until INVLPG (anywhere in the page), a global entry
 * survives a non-global flush only with CR4.PGE, and PAE's PDPTE registers are not re-read by a
 * TLB miss.
 */
class MmuModesTest {

    private record Setup(ModeTables tables, Mmu mmu, Tlb tlb, long linear, PagingState state) implements AutoCloseable {
        @Override
        public void close() {
            tables.close();
        }

        Mmu.AccessResult read() {
            return mmu.access(linear, 4, AccessType.READ, AccessMode.SUPERVISOR, state);
        }
    }

    private static Setup setup(PagingMode mode, PageSize size, long leafFlags, String state) {
        ModeTables t = new ModeTables(mode);
        int leaf = t.chain(size, Paging.W);
        t.set(leaf, t.get(leaf) | leafFlags);
        Tlb tlb = new Tlb(TlbConfig.skylake());
        Mmu mmu = new Mmu(t.mem, t.walker(), tlb, new RecordingMapper(t.mem));
        PagingState s = t.state(state);
        if (mode == PagingMode.PAE) {
            s = new PagingState(s.cr0(), s.cr3(), s.cr4(), s.efer(), false, PdpteRegisters.read(t.mem, s.cr3()));
        }
        return new Setup(t, mmu, tlb, t.linear(), s);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "BITS_32, SIZE_4K", "BITS_32, SIZE_4M", "PAE, SIZE_4K", "PAE, SIZE_2M",
            "FIVE_LEVEL, SIZE_4K", "FIVE_LEVEL, SIZE_2M", "FIVE_LEVEL, SIZE_1G",
    })
    void aStaleEntryIsUsedUntilInvlpgAnywhereInItsPage(PagingMode mode, PageSize size) {
        try (Setup u = setup(mode, size, 0, "PSE")) {
            assertNull(u.read().fault());
            assertEquals(1, u.mmu().walks());
            TlbEntry e = u.tlb().peek(Kind.DATA, u.linear(), 0);
            assertEquals(size, e.size());
            assertEquals(u.linear() & ~size.offsetMask(), e.pageBase());
            assertNull(u.read().fault());
            assertEquals(1, u.mmu().walks(), "a hit walks nothing");

            int leaf = mode.levels().size() - 1 - switch (size) {
                case SIZE_4K -> 0;
                case SIZE_2M, SIZE_4M -> 1;
                case SIZE_1G -> 2;
            };
            u.tables().set(leaf, 0); // the kernel unmaps the page without INVLPG
            assertNull(u.read().fault(), "the stale entry still translates");
            u.mmu().invlpg(u.linear() | (size.offsetMask() & ~0xfffL), u.state()); // the last 4 KiB of the page
            PageFault f = u.read().fault();
            assertNotNull(f);
            assertEquals(mode.levels().get(leaf).entryName() + " not present", f.reason());
        }
    }

    @ParameterizedTest(name = "{0} {1} [{2}]")
    @CsvSource({
            "BITS_32, SIZE_4K, PGE, true", "BITS_32, SIZE_4M, PSE PGE, true", "BITS_32, SIZE_4K, -, false",
            "PAE, SIZE_2M, PGE, true", "PAE, SIZE_4K, -, false",
            "FIVE_LEVEL, SIZE_4K, PGE, true", "FIVE_LEVEL, SIZE_1G, -, false",
    })
    void globalEntriesSurviveMovToCr3OnlyWithPge(PagingMode mode, PageSize size, String state, boolean survives) {
        try (Setup u = setup(mode, size, Paging.G, state)) {
            assertNull(u.read().fault());
            u.mmu().invalidate("MOV to CR3", u.tlb().flushNonGlobal(0));
            assertEquals(survives, u.tlb().peek(Kind.DATA, u.linear(), 0) != null);
        }
    }

    /** SDM 4.4.1: a TLB miss walks from the PDPTE registers; clearing the PDPTE in memory changes nothing. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"SIZE_4K", "SIZE_2M"})
    void aPaeMissUsesThePdpteRegisters(PageSize size) {
        try (Setup u = setup(PagingMode.PAE, size, 0, "-")) {
            u.tables().set(0, 0);
            assertNull(u.read().fault());
            u.mmu().invlpg(u.linear(), u.state());
            assertNull(u.read().fault(), "walked again through the registers");
            assertEquals(2, u.mmu().walks());
        }
    }
}
