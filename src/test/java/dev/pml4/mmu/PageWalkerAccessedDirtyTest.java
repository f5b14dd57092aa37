package dev.pml4.mmu;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static dev.pml4.mmu.Paging.*;
import static org.junit.jupiter.api.Assertions.*;

/** SDM 4.8: A in every entry used, D in the leaf on a write; nothing on a fault or a probe. */
class PageWalkerAccessedDirtyTest {
    private final Paging p = new Paging();

    @AfterEach
    void close() {
        p.close();
    }

    /**
     * Columns: page size, access, then the exact value of each entry after the walk (hex, "-" for
     * a level the size does not use), then Translation.dirty. Entries start as "W U" with A and D clear.
     */
    @ParameterizedTest(name = "[{index}] {0} {1}")
    @CsvSource(delimiter = '|', textBlock = """
            SIZE_4K | READ  | 2027 | 3027 | 4027   | 7ff027 | false
            SIZE_4K | FETCH | 2027 | 3027 | 4027   | 7ff027 | false
            SIZE_4K | WRITE | 2027 | 3027 | 4027   | 7ff067 | true
            SIZE_2M | READ  | 2027 | 3027 | 6000a7 | -      | false
            SIZE_2M | WRITE | 2027 | 3027 | 6000e7 | -      | true
            SIZE_1G | READ  | 2027 | 400000a7 | -  | -      | false
            SIZE_1G | WRITE | 2027 | 400000e7 | -  | -      | true
            """)
    void successSetsAccessedEverywhereAndDirtyOnlyInTheLeafOnlyOnWrites(
            PageSize size, AccessType type, String pml4e, String pdpte, String pde, String pte, boolean dirty) {
        p.chain(size, LINEAR, "W U", "W U", "W U", "W U");
        WalkResult r = p.walker().translate(LINEAR, type, AccessMode.USER, state("WP"));
        Translation t = assertInstanceOf(Translation.class, r);
        assertEquals(dirty, t.dirty());
        String[] expected = {pml4e, pdpte, pde, pte};
        for (int i = 0; i < depth(size); i++) {
            PagingLevel level = Paging.LEVELS.get(i);
            assertEquals(Long.parseLong(expected[i], 16), p.get(level, LINEAR), level.entryName());
            // The step keeps the value as read, before the update.
            assertEquals(0, t.steps().get(i).entryValue() & (A | D), level.entryName() + " step");
        }
    }

    @Test
    void flagsAlreadySetStayAndAReadReportsTheLeafDirty() {
        p.chain4k("W U A D");
        byte[] before = p.snapshot();
        Translation t = assertInstanceOf(Translation.class,
                p.walker().translate(LINEAR, AccessType.READ, AccessMode.USER, state("-")));
        assertTrue(t.dirty());
        assertArrayEquals(before, p.snapshot());
        assertEquals(0x7ff067, t.steps().getLast().entryValue());
    }

    @Test
    void aSecondWalkSeesTheFlagsTheFirstSet() {
        p.chain4k("W U");
        p.walker().translate(LINEAR, AccessType.WRITE, AccessMode.USER, state("-"));
        WalkResult second = p.walker().translate(LINEAR, AccessType.READ, AccessMode.USER, state("-"));
        assertEquals(0x2027, second.steps().get(0).entryValue());
        assertEquals(0x7ff067, second.steps().get(3).entryValue());
        assertTrue(assertInstanceOf(Translation.class, second).dirty());
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            protection: user write to read-only page      | W U | W U | W U | U       | WRITE | USER       | -
            protection: user read of supervisor page      | W U | W U | W   | W U     | READ  | USER       | -
            protection: SMAP                              | W U | W U | W U | W U     | READ  | SUPERVISOR | SMAP
            protection: SMEP                              | W U | W U | W U | W U     | FETCH | SUPERVISOR | SMEP
            protection: NX fetch                          | W U | W U | W U | W U XD  | FETCH | USER       | NXE
            protection: WP                                | W   | W   | W   | -       | WRITE | SUPERVISOR | WP
            not present: PTE                              | W U | W U | W U | !P      | WRITE | USER       | -
            not present: PDE                              | W U | W U | !P  | W U     | READ  | USER       | -
            reserved: PTE bit 51                          | W U | W U | W U | W bit51 | WRITE | SUPERVISOR | -
            reserved: PDPTE XD without NXE                | W U | W U XD | W U | W U  | READ  | SUPERVISOR | -
            """)
    void aFaultWritesNothing(String what, String pml4e, String pdpte, String pde, String pte,
                             AccessType type, AccessMode mode, String state) {
        p.chain(PageSize.SIZE_4K, LINEAR, pml4e, pdpte, pde, pte);
        byte[] before = p.snapshot();
        assertInstanceOf(PageFault.class, p.walker().translate(LINEAR, type, mode, state(state)), what);
        assertArrayEquals(before, p.snapshot(), what);
    }

    @ParameterizedTest(name = "probe {0} {1}")
    @CsvSource({"SIZE_4K, READ", "SIZE_4K, WRITE", "SIZE_4K, FETCH", "SIZE_2M, WRITE", "SIZE_1G, WRITE"})
    void probeWritesNothingAndReportsTheDirtyFlagAsFound(PageSize size, AccessType type) {
        p.chain(size, LINEAR, "W U", "W U", "W U", "W U");
        byte[] before = p.snapshot();
        PageWalker walker = p.walker();
        Translation probed = assertInstanceOf(Translation.class,
                walker.probe(LINEAR, type, AccessMode.USER, state("NXE")));
        assertArrayEquals(before, p.snapshot());
        assertFalse(probed.dirty());

        Translation walked = assertInstanceOf(Translation.class,
                walker.translate(LINEAR, type, AccessMode.USER, state("NXE")));
        assertEquals(type == AccessType.WRITE, walked.dirty());
        // Apart from the dirty flag, probe and translate agree exactly.
        assertEquals(new Translation(walked.linearAddress(), walked.physicalAddress(), walked.pageBase(),
                walked.frameBase(), walked.size(), walked.rights(), walked.global(), false, walked.steps()), probed);
        assertFalse(Arrays.equals(before, p.snapshot()), "translate did write");
    }

    @Test
    void probeOfAFaultWritesNothingAndGivesTheSameFault() {
        p.chain4k("W U");
        p.andNot(PagingLevel.PT, LINEAR, W);
        byte[] before = p.snapshot();
        WalkResult probed = p.walker().probe(LINEAR, AccessType.WRITE, AccessMode.USER, state("-"));
        assertEquals(new PageFault(LINEAR, 0x7, "write to read-only page", probed.steps()), probed);
        assertEquals(probed, p.walker().translate(LINEAR, AccessType.WRITE, AccessMode.USER, state("-")));
        assertArrayEquals(before, p.snapshot());
    }

    @Test
    void dirtyIsNeverSetInANonLeafEntry() {
        p.chain(PageSize.SIZE_2M, LINEAR, "W U", "W U", "W U", "-");
        p.walker().translate(LINEAR, AccessType.WRITE, AccessMode.SUPERVISOR, state("WP"));
        assertEquals(0, p.get(PagingLevel.PML4, LINEAR) & D);
        assertEquals(0, p.get(PagingLevel.PDPT, LINEAR) & D);
        assertEquals(D, p.get(PagingLevel.PD, LINEAR) & D);
    }

    @Test
    void onlyTheFlagBitsChange() {
        // Ignored high bits and the other low flags survive the update untouched.
        p.chain4k("W U G bit9 bit11 bit52 bit62 XD");
        p.walker().translate(LINEAR, AccessType.WRITE, AccessMode.USER, state("NXE"));
        assertEquals(0xc010_0000_007f_fb67L, p.get(PagingLevel.PT, LINEAR));
        assertEquals(0xc010_0000_0000_4b27L, p.get(PagingLevel.PD, LINEAR));
    }
}
