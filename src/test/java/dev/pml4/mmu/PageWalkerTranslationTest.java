package dev.pml4.mmu;

import dev.pml4.machine.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static dev.pml4.mmu.Paging.*;
import static org.junit.jupiter.api.Assertions.*;

/** Successful walks: sizes, exact addresses, steps, the high half, bits that are not reserved. */
class PageWalkerTranslationTest {
    private final Paging p = new Paging();

    @AfterEach
    void close() {
        p.close();
    }

    private Translation translate(long linear, AccessType type, AccessMode mode, PagingState state) {
        WalkResult r = p.walker().translate(linear, type, mode, state);
        return assertInstanceOf(Translation.class, r, () -> "expected a translation, got " + r);
    }

    @ParameterizedTest(name = "{0}: 0x{1} -> 0x{2}")
    @CsvSource({
            // size,   linear,            physical,   pageBase,         frameBase
            "SIZE_4K, 0000008080604567, 00000000007ff567, 0000008080604000, 00000000007ff000",
            "SIZE_4K, 0000008080604000, 00000000007ff000, 0000008080604000, 00000000007ff000",
            "SIZE_4K, 0000008080604fff, 00000000007fffff, 0000008080604000, 00000000007ff000",
            "SIZE_2M, 0000008080604567, 0000000000604567, 0000008080600000, 0000000000600000",
            "SIZE_2M, 00000080807fffff, 00000000007fffff, 0000008080600000, 0000000000600000",
            "SIZE_1G, 0000008080604567, 0000000040604567, 0000008080000000, 0000000040000000",
            "SIZE_1G, 00000080bfffffff, 000000007fffffff, 0000008080000000, 0000000040000000",
            "SIZE_1G, 0000008080000000, 0000000040000000, 0000008080000000, 0000000040000000",
    })
    void everyPageSizeTranslatesExactly(PageSize size, String linearHex, String physHex,
                                        String pageBaseHex, String frameBaseHex) {
        long linear = Long.parseUnsignedLong(linearHex, 16);
        p.chain(size, linear, "W U", "W U", "W U", "W U");
        Translation t = translate(linear, AccessType.READ, AccessMode.USER, state("NXE"));
        assertEquals(linear, t.linearAddress());
        assertEquals(Long.parseUnsignedLong(physHex, 16), t.physicalAddress());
        assertEquals(Long.parseUnsignedLong(pageBaseHex, 16), t.pageBase());
        assertEquals(Long.parseUnsignedLong(frameBaseHex, 16), t.frameBase());
        assertEquals(size, t.size());
        assertEquals(new PageRights(true, true, true), t.rights());
        assertEquals(depth(size), t.steps().size());
        assertFalse(t.global());
        assertFalse(t.dirty());
    }

    @Test
    void stepsOfOne4kWalkAreExact() {
        p.chain4k("W U");
        Translation t = translate(LINEAR, AccessType.READ, AccessMode.SUPERVISOR, state("-"));
        assertEquals(List.of(
                new WalkStep(PagingLevel.PML4, 0x1008, 0x2007),
                new WalkStep(PagingLevel.PDPT, 0x2010, 0x3007),
                new WalkStep(PagingLevel.PD, 0x3018, 0x4007),
                new WalkStep(PagingLevel.PT, 0x4020, 0x7ff007)), t.steps());
        assertEquals(0x7ff567, t.physicalAddress());
    }

    @Test
    void highHalfKernelAddressUsesPml4Entry511AndPdptEntry510() {
        long linear = 0xffff_ffff_8000_0000L;
        p.chain(PageSize.SIZE_4K, linear, "W", "W", "W", "W G");
        Translation t = translate(linear + 0x123, AccessType.FETCH, AccessMode.SUPERVISOR, state("NXE WP"));
        assertEquals(List.of(
                new WalkStep(PagingLevel.PML4, 0x1000 + 511 * 8, 0x2003),
                new WalkStep(PagingLevel.PDPT, 0x2000 + 510 * 8, 0x3003),
                new WalkStep(PagingLevel.PD, 0x3000, 0x4003),
                new WalkStep(PagingLevel.PT, 0x4000, 0x7ff103)), t.steps());
        assertEquals(0xffff_ffff_8000_0123L, t.linearAddress());
        assertEquals(0xffff_ffff_8000_0000L, t.pageBase());
        assertEquals(0x7ff123, t.physicalAddress());
        assertEquals(new PageRights(true, false, true), t.rights());
        assertTrue(t.global());
    }

    @Test
    void bits63to48AreNotLookedAt() {
        // Canonical checks are the CPU's job: the walker indexes with bits 47:0 only.
        p.chain4k("W U");
        long nonCanonical = 0x1234_0080_8060_4567L;
        Translation t = translate(nonCanonical, AccessType.READ, AccessMode.USER, state("-"));
        assertEquals(0x7ff567, t.physicalAddress());
        assertEquals(0x1234_0080_8060_4000L, t.pageBase());
        assertEquals(nonCanonical, t.linearAddress());
    }

    @Test
    void recursiveSelfMapReachesThePml4ItselfAndKeepsEveryFlag() {
        // PML4[510] points at the PML4: the classic recursive mapping, one entry used at all four levels.
        p.mem.write64(PML4 + 510 * 8, PML4 | P | W);
        long linear = 0xffff_ff7f_bfdf_e000L; // 510/510/510/510
        Translation t = translate(linear + 8, AccessType.WRITE, AccessMode.SUPERVISOR, state("WP"));
        assertEquals(PML4 + 8, t.physicalAddress());
        assertEquals(4, t.steps().size());
        for (WalkStep s : t.steps()) {
            assertEquals(PML4 + 510 * 8, s.entryAddress());
            assertEquals(0x1003, s.entryValue());
        }
        assertEquals(0x1003 | A | D, p.mem.read64(PML4 + 510 * 8));
    }

    @ParameterizedTest(name = "{0} bits 0x{2} in {1}: translation unchanged")
    @CsvSource({
            // size,  level, extra bits (hex),    physical
            "SIZE_4K, PT,   0000000000000080, 00000000007ff567",   // PTE bit 7 is PAT, not PS
            "SIZE_2M, PD,   0000000000001000, 0000000000604567",   // 2M PDE bit 12 is PAT
            "SIZE_1G, PDPT, 0000000000001000, 0000000040604567",   // 1G PDPTE bit 12 is PAT
            "SIZE_4K, PT,   7ff0000000000000, 00000000007ff567",   // bits 62:52 ignored
            "SIZE_4K, PML4, 7ff0000000000f40, 00000000007ff567",   // PML4E bits 62:52, 11:8, 6 ignored
            "SIZE_4K, PDPT, 7ff0000000000f40, 00000000007ff567",   // PDPTE (table) bits 62:52, 11:8, 6 ignored
            "SIZE_4K, PD,   7ff0000000000f40, 00000000007ff567",   // PDE (table) bits 62:52, 11:8, 6 ignored
            "SIZE_4K, PT,   0000000800000000, 00000008007ff567",   // bit 35 = MAXPHYADDR-1 is address
            "SIZE_2M, PD,   0000000800000000, 0000000800604567",
            "SIZE_1G, PDPT, 0000000800000000, 0000000840604567",
            "SIZE_4K, PT,   8000000000000000, 00000000007ff567",   // XD with NXE=1 is not reserved
    })
    void bitsThatAreNotReservedDoNotFault(PageSize size, PagingLevel level, String bitsHex, String physHex) {
        p.chain(size, LINEAR, "W U", "W U", "W U", "W U");
        p.or(level, LINEAR, Long.parseUnsignedLong(bitsHex, 16));
        Translation t = translate(LINEAR, AccessType.READ, AccessMode.SUPERVISOR, state("NXE"));
        assertEquals(Long.parseUnsignedLong(physHex, 16), t.physicalAddress());
        assertEquals(size, t.size());
        assertFalse(t.global(), "G in a non-leaf entry is ignored");
    }

    @Test
    void maxPhysAddr52MakesBit51AnAddressBit() {
        p.chain4k("W U");
        p.or(PagingLevel.PT, LINEAR, 1L << 51);
        WalkResult r = new PageWalker(p.mem, 52).translate(LINEAR, AccessType.READ, AccessMode.USER, state("-"));
        assertEquals(0x0008_0000_007f_f567L, assertInstanceOf(Translation.class, r).physicalAddress());
    }

    @ParameterizedTest(name = "CR3=0x{0} {1}")
    @CsvSource({
            "0000000000001018, -",      // PWT and PCD are not address bits
            "0000000000001123, PCIDE",  // PCID 0x123
            "8000000000001000, PCIDE",  // bit 63 (no-flush on MOV to CR3) is not an address bit
            "6000000000001000, -",      // bits 62:61 (LAM) are not address bits
    })
    void cr3LowAndHighControlBitsDoNotMoveThePml4(String cr3Hex, String flags) {
        p.chain4k("W U");
        PagingState base = state(flags);
        var s = new PagingState(base.cr0(), Long.parseUnsignedLong(cr3Hex, 16), base.cr4(), base.efer(), false);
        assertEquals(0x1000, s.pml4Base());
        assertEquals(0x1000, s.pml4Base(36));
        Translation t = translate(LINEAR, AccessType.READ, AccessMode.USER, s);
        assertEquals(0x1008, t.steps().getFirst().entryAddress());
        assertEquals(0x7ff567, t.physicalAddress());
    }

    @Test
    void pagingOffIsAnIdentityTranslationWithFullRights() {
        var off = new PagingState(0x11, 0x1000, 0, 0, false);
        for (AccessType type : AccessType.values()) {
            for (AccessMode mode : AccessMode.values()) {
                WalkResult r = p.walker().translate(0x12_3456L, type, mode, off);
                assertEquals(new Translation(0x12_3456L, 0x12_3456L, 0x12_3000L, 0x12_3000L, PageSize.SIZE_4K,
                        new PageRights(true, true, true), false, true, List.of()), r);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"31", "53", "0", "64"})
    void maxPhysAddrOutside32To52IsRefused(int m) {
        assertThrows(IllegalArgumentException.class, () -> new PageWalker(p.mem, m));
    }

    @Test
    void maxPhysAddrIsKept() {
        assertEquals(36, p.walker().maxPhysAddr());
        try (var small = new PhysicalMemory(4096)) {
            assertEquals(46, new PageWalker(small, 46).maxPhysAddr());
        }
    }

    @Test
    void globalComesFromTheLeafOnlyWhateverCr4Pge() {
        p.chain(PageSize.SIZE_2M, LINEAR, "W G", "W G", "W", "-");
        assertFalse(translate(LINEAR, AccessType.READ, AccessMode.SUPERVISOR, state("PGE")).global());
        p.or(PagingLevel.PD, LINEAR, G);
        assertTrue(translate(LINEAR, AccessType.READ, AccessMode.SUPERVISOR, state("-")).global());
    }
}
