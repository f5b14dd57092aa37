package dev.pml4.mmu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.pml4.mmu.Paging.*;
import static org.junit.jupiter.api.Assertions.*;

/** Not-present and reserved-bit faults (SDM 4.5, 4.7): exact error codes, reasons and steps. */
class PageWalkerFaultTest {
    private final Paging p = new Paging();

    @AfterEach
    void close() {
        p.close();
    }

    private PageFault fault(long linear, AccessType type, AccessMode mode, PagingState state) {
        WalkResult r = p.walker().translate(linear, type, mode, state);
        return assertInstanceOf(PageFault.class, r, () -> "expected a fault, got " + r);
    }

    @ParameterizedTest(name = "[{index}] {0} {1} absent: {2} {3} [{4}] -> 0x{5}")
    @MethodSource("notPresentAtEveryLevel")
    void notPresentAtEveryLevel(PageSize size, PagingLevel level, AccessType type, AccessMode mode,
                                String state, int code) {
        p.chain(size, LINEAR, "W U", "W U", "W U", "W U");
        p.andNot(level, LINEAR, P);
        long absent = p.get(level, LINEAR);
        PageFault f = fault(LINEAR, type, mode, state(state));
        assertEquals(code, f.errorCode());
        assertEquals(level.entryName() + " not present", f.reason());
        assertEquals(LINEAR, f.linearAddress());
        assertEquals(Paging.LEVELS.indexOf(level) + 1, f.steps().size());
        assertEquals(new WalkStep(level, entryAddress(level, LINEAR), absent), f.steps().getLast());
    }

    static Stream<Arguments> notPresentAtEveryLevel() {
        Object[][] accesses = {
                {AccessType.READ, AccessMode.SUPERVISOR, "-", 0x0},
                {AccessType.READ, AccessMode.USER, "SMAP SMEP NXE", 0x4},
                {AccessType.WRITE, AccessMode.SUPERVISOR, "WP", 0x2},
                {AccessType.WRITE, AccessMode.USER, "-", 0x6},
                {AccessType.WRITE, AccessMode.IMPLICIT_SUPERVISOR, "SMAP", 0x2},
                {AccessType.FETCH, AccessMode.SUPERVISOR, "-", 0x0},
                {AccessType.FETCH, AccessMode.SUPERVISOR, "NXE", 0x10},
                {AccessType.FETCH, AccessMode.SUPERVISOR, "SMEP", 0x10},
                {AccessType.FETCH, AccessMode.USER, "-", 0x4},
                {AccessType.FETCH, AccessMode.USER, "NXE", 0x14},
        };
        List<Arguments> out = new ArrayList<>();
        for (PageSize size : Paging.SIZES) {
            for (int i = 0; i < depth(size); i++) {
                for (Object[] a : accesses) {
                    out.add(Arguments.of(size, Paging.LEVELS.get(i), a[0], a[1], a[2], a[3]));
                }
            }
        }
        return out.stream();
    }

    @Test
    void reservedBitsAreNotCheckedInANotPresentEntry() {
        p.chain4k("W U");
        p.set(PagingLevel.PD, LINEAR, 0xfff0_0000_0000_00feL); // P=0, everything else set
        PageFault f = fault(LINEAR, AccessType.WRITE, AccessMode.USER, state("-"));
        assertEquals(0x6, f.errorCode());
        assertEquals("PDE not present", f.reason());
        assertEquals(3, f.steps().size());
    }

    /** MAXPHYADDR is 36 here: bits 51:36 of every present entry are reserved. */
    @ParameterizedTest(name = "[{index}] {0} {1} +0x{2} [{3}] -> {4}")
    @CsvSource(delimiter = '|', textBlock = """
            # size  | level | bits (hex)        | state | reason
            SIZE_4K | PML4  | 0008000000000000  | NXE   | reserved bit 51 set in PML4E
            SIZE_4K | PML4  | 0000001000000000  | NXE   | reserved bit 36 set in PML4E
            SIZE_4K | PML4  | 0000000000000080  | NXE   | reserved bit 7 (PS) set in PML4E
            SIZE_4K | PML4  | 8000000000000000  | -     | reserved bit 63 (XD, EFER.NXE=0) set in PML4E
            SIZE_4K | PDPT  | 0008000000000000  | NXE   | reserved bit 51 set in PDPTE
            SIZE_4K | PDPT  | 0000001000000000  | NXE   | reserved bit 36 set in PDPTE
            SIZE_4K | PDPT  | 8000000000000000  | -     | reserved bit 63 (XD, EFER.NXE=0) set in PDPTE
            SIZE_4K | PD    | 0000010000000000  | NXE   | reserved bit 40 set in PDE
            SIZE_4K | PD    | 8000000000000000  | -     | reserved bit 63 (XD, EFER.NXE=0) set in PDE
            SIZE_4K | PT    | 0008000000000000  | NXE   | reserved bit 51 set in PTE
            SIZE_4K | PT    | 0000001000000000  | NXE   | reserved bit 36 set in PTE
            SIZE_4K | PT    | 0008001000000000  | NXE   | reserved bits 51, 36 set in PTE
            SIZE_4K | PT    | 000f000000000000  | NXE   | reserved bits 51:48 set in PTE
            SIZE_4K | PT    | 8008000000000000  | -     | reserved bits 63 (XD, EFER.NXE=0), 51 set in PTE
            SIZE_4K | PT    | 8000000000000000  | -     | reserved bit 63 (XD, EFER.NXE=0) set in PTE
            SIZE_2M | PD    | 0000000000002000  | NXE   | reserved bit 13 set in PDE mapping a 2 MiB page
            SIZE_2M | PD    | 0000000000100000  | NXE   | reserved bit 20 set in PDE mapping a 2 MiB page
            SIZE_2M | PD    | 00000000001fe000  | NXE   | reserved bits 20:13 set in PDE mapping a 2 MiB page
            SIZE_2M | PD    | 0008000000000000  | NXE   | reserved bit 51 set in PDE mapping a 2 MiB page
            SIZE_2M | PD    | 8000000000000000  | -     | reserved bit 63 (XD, EFER.NXE=0) set in PDE mapping a 2 MiB page
            SIZE_2M | PDPT  | 0000001000000000  | NXE   | reserved bit 36 set in PDPTE
            SIZE_2M | PML4  | 0000000000000080  | NXE   | reserved bit 7 (PS) set in PML4E
            SIZE_1G | PDPT  | 0000000000002000  | NXE   | reserved bit 13 set in PDPTE mapping a 1 GiB page
            SIZE_1G | PDPT  | 0000000020000000  | NXE   | reserved bit 29 set in PDPTE mapping a 1 GiB page
            SIZE_1G | PDPT  | 000000003fffe000  | NXE   | reserved bits 29:13 set in PDPTE mapping a 1 GiB page
            SIZE_1G | PDPT  | 0008000000000000  | NXE   | reserved bit 51 set in PDPTE mapping a 1 GiB page
            SIZE_1G | PDPT  | 8000000000000000  | -     | reserved bit 63 (XD, EFER.NXE=0) set in PDPTE mapping a 1 GiB page
            SIZE_1G | PML4  | 0008000000000000  | NXE   | reserved bit 51 set in PML4E
            """)
    void reservedBitsAtEveryLevel(PageSize size, PagingLevel level, String bitsHex, String state, String reason) {
        p.chain(size, LINEAR, "W U", "W U", "W U", "W U");
        p.or(level, LINEAR, Long.parseUnsignedLong(bitsHex, 16));
        long entry = p.get(level, LINEAR);
        PageFault f = fault(LINEAR, AccessType.READ, AccessMode.SUPERVISOR, state(state));
        assertEquals(0x9, f.errorCode());
        assertEquals(reason, f.reason());
        assertEquals(Paging.LEVELS.indexOf(level) + 1, f.steps().size());
        assertEquals(new WalkStep(level, entryAddress(level, LINEAR), entry), f.steps().getLast());
    }

    /** A reserved-bit fault has P=1 and RSVD=1 plus the access bits: W/R, U/S, I/D. */
    @ParameterizedTest(name = "[{index}] {0} {1} [{2}] -> {3}")
    @CsvSource(delimiter = '|', textBlock = """
            READ  | SUPERVISOR          | -         | 0x9
            READ  | USER                | -         | 0xd
            WRITE | SUPERVISOR          | WP        | 0xb
            WRITE | USER                | -         | 0xf
            WRITE | IMPLICIT_SUPERVISOR | SMAP      | 0xb
            FETCH | SUPERVISOR          | -         | 0x9
            FETCH | SUPERVISOR          | NXE       | 0x19
            FETCH | SUPERVISOR          | SMEP      | 0x19
            FETCH | USER                | -         | 0xd
            FETCH | USER                | NXE       | 0x1d
            """)
    void reservedBitErrorCodeCarriesTheAccessBits(AccessType type, AccessMode mode, String state, String code) {
        // A supervisor, read-only PTE: the reserved bit must win over every protection violation.
        p.chain(PageSize.SIZE_4K, LINEAR, "W U", "W U", "W U", "-");
        p.or(PagingLevel.PT, LINEAR, 1L << 51);
        PageFault f = fault(LINEAR, type, mode, state(state));
        assertEquals(Integer.decode(code), f.errorCode());
        assertEquals("reserved bit 51 set in PTE", f.reason());
    }

    @Test
    void xdWithNxeClearIsAReservedBitFaultNotAnNxFault() {
        p.chain4k("W U");
        p.or(PagingLevel.PDPT, LINEAR, XD);
        PageFault f = fault(LINEAR, AccessType.FETCH, AccessMode.USER, state("-"));
        assertEquals(0xd, f.errorCode());
        assertEquals("reserved bit 63 (XD, EFER.NXE=0) set in PDPTE", f.reason());
        assertEquals(2, f.steps().size());
    }

    @Test
    void aReservedBitHighUpEndsTheWalkBeforeAnAbsentEntryBelow() {
        p.chain4k("W U");
        p.or(PagingLevel.PDPT, LINEAR, 1L << 40);
        p.set(PagingLevel.PD, LINEAR, 0);
        PageFault f = fault(LINEAR, AccessType.READ, AccessMode.USER, state("-"));
        assertEquals(0xd, f.errorCode());
        assertEquals("reserved bit 40 set in PDPTE", f.reason());
        assertEquals(2, f.steps().size());
    }

    @ParameterizedTest(name = "MAXPHYADDR={0} bit {1}")
    @CsvSource({
            "36, 36, true", "36, 35, false", "39, 39, true", "39, 38, false",
            "46, 46, true", "46, 45, false", "52, 51, false",
    })
    void maxPhysAddrDecidesWhichAddressBitsAreReserved(int maxPhysAddr, int bit, boolean reserved) {
        p.chain4k("W U");
        p.or(PagingLevel.PD, LINEAR, 1L << bit); // a table address beyond RAM if not reserved
        WalkResult r = new PageWalker(p.mem, maxPhysAddr).translate(LINEAR, AccessType.READ, AccessMode.SUPERVISOR, state("NXE"));
        if (reserved) {
            PageFault f = assertInstanceOf(PageFault.class, r);
            assertEquals(0x9, f.errorCode());
            assertEquals("reserved bit " + bit + " set in PDE", f.reason());
        } else {
            // The PT now lies in a hole and reads all-ones; the walk goes there, as the CPU would.
            assertEquals((1L << bit) | PT + 4 * 8, r.steps().getLast().entryAddress());
            assertEquals(-1L, r.steps().getLast().entryValue());
        }
    }

    @ParameterizedTest(name = "NXE={0}")
    @CsvSource(delimiter = '|', textBlock = """
            -   | reserved bits 63 (XD, EFER.NXE=0), 51:36, 7 (PS) set in PML4E (the entry at 0x10000008 is not RAM and reads all-ones)
            NXE | reserved bits 51:36, 7 (PS) set in PML4E (the entry at 0x10000008 is not RAM and reads all-ones)
            """)
    void aPml4InAHoleReadsAllOnesAndFaultsOnReservedBits(String state, String reason) {
        PagingState s = state(state);
        var inHole = new PagingState(s.cr0(), 0x1000_0000L, s.cr4(), s.efer(), false);
        PageFault f = fault(LINEAR, AccessType.READ, AccessMode.SUPERVISOR, inHole);
        assertEquals(0x9, f.errorCode());
        assertEquals(reason, f.reason());
        assertEquals(List.of(new WalkStep(PagingLevel.PML4, 0x1000_0008L, -1L)), f.steps());
    }

    @Test
    void describeNamesAddressCodeAndReason() {
        p.chain4k("W");
        PageFault f = fault(LINEAR, AccessType.WRITE, AccessMode.USER, state("-"));
        assertEquals("#PF at 0x8080604567 error 0x7 (P W U): user access to supervisor page", f.describe());
    }
}
