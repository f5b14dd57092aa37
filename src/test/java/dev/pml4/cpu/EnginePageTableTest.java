package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.ffi.unicorn.Protection;
import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.guest.Guests;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.machine.PhysicalMemory;
import dev.pml4.mmu.Tlb;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The engine page table (EnginePageTable, src/main/c/pml4tlb.c): what it holds after each change
 * the MMU makes, and that a machine on it keeps the TLB exact while Unicorn's regions never change.
 */
class EnginePageTableTest {
    private static final long PAGE = PhysicalMemory.PAGE_SIZE;
    private static final long RW = Protection.READ | Protection.WRITE;
    private static final long RX = Protection.READ | Protection.EXEC;

    @BeforeEach
    void needsTheTable() {
        Assumptions.assumeTrue(EnginePageTable.unavailable() == null, () -> "no engine page table here: " + EnginePageTable.unavailable());
    }

    /** The table's entry for a page: its engine-physical frame, the leaf bit (8) and QEMU's rights. */
    private static long entry(long physical, long rights) {
        return EnginePageTable.RAM_BASE + physical | 8 | rights;
    }

    @Test
    void holdsExactlyWhatWasMappedPageByPage() {
        try (PhysicalMemory memory = new PhysicalMemory(16L << 20); Unicorn engine = Unicorn.openX86_64()) {
            EnginePageTable table = EnginePageTable.create(engine, memory, w -> { }).orElseThrow();
            table.mapRam(0x40_0000, 2 * PAGE, (int) RW, memory.ramSlice(0x5000, 2 * PAGE));
            assertEquals(entry(0x5000, RW), table.entry(0x40_0000));
            assertEquals(entry(0x6000, RW), table.entry(0x40_1fff));
            assertEquals(0, table.entry(0x40_2000));
            assertEquals(0, table.entry(0x3f_f000));

            table.protect(0x40_1000, PAGE, (int) Protection.READ);
            assertEquals(entry(0x6000, Protection.READ), table.entry(0x40_1000));
            assertEquals(entry(0x5000, RW), table.entry(0x40_0000), "a protect changes its own page only");

            table.unmap(0x40_0000, PAGE);
            assertEquals(0, table.entry(0x40_0000));
            assertEquals(entry(0x6000, Protection.READ), table.entry(0x40_1000));

            // Upper half, where kernels live: the same tree, other indices.
            table.mapRam(0xffff_ffff_8000_0000L, PAGE, (int) RX, memory.ramSlice(0x10_0000, PAGE));
            assertEquals(entry(0x10_0000, RX), table.entry(0xffff_ffff_8000_0abcL));
        }
    }

    @Test
    void largeMappingsSplitWhenPartOfThemChanges() {
        try (PhysicalMemory memory = new PhysicalMemory(16L << 20); Unicorn engine = Unicorn.openX86_64()) {
            EnginePageTable table = EnginePageTable.create(engine, memory, w -> { }).orElseThrow();
            long twoMiB = 2L << 20;
            table.mapRam(0x20_0000, twoMiB, (int) RW, memory.ramSlice(0x40_0000, twoMiB));
            assertEquals(entry(0x40_0000, RW), table.entry(0x20_0000));
            assertEquals(entry(0x5f_f000, RW), table.entry(0x3f_f000));

            table.protect(0x20_0000, twoMiB, (int) Protection.READ); // the whole leaf, in place
            assertEquals(entry(0x40_0000, Protection.READ), table.entry(0x20_0000));
            assertEquals(entry(0x5f_f000, Protection.READ), table.entry(0x3f_f000));
            table.protect(0x2f_f000, PAGE, (int) RW); // one page of it: the leaf splits
            assertEquals(entry(0x4f_f000, RW), table.entry(0x2f_f000));
            assertEquals(entry(0x4f_e000, Protection.READ), table.entry(0x2f_e000));
            assertEquals(entry(0x50_0000, Protection.READ), table.entry(0x30_0000));
            table.protect(0x20_0000, twoMiB, (int) RW);

            table.unmap(0x30_0000, PAGE); // one page in the middle of the 2 MiB mapping
            assertEquals(0, table.entry(0x30_0000));
            assertEquals(entry(0x4f_f000, RW), table.entry(0x2f_f000));
            assertEquals(entry(0x50_1000, RW), table.entry(0x30_1000));

            table.unmap(0x20_0000, twoMiB);
            for (long a = 0x20_0000; a < 0x40_0000; a += PAGE) {
                assertEquals(0, table.entry(a), "left at 0x" + Long.toHexString(a));
            }
            // A range whose frames are not 2 MiB aligned still maps page by page.
            table.mapRam(0x20_0000, twoMiB, (int) RW, memory.ramSlice(0x40_1000, twoMiB));
            assertEquals(entry(0x40_1000, RW), table.entry(0x20_0000));
            assertEquals(entry(0x60_0000, RW), table.entry(0x3f_f000));
        }
    }

    @Test
    void holesAndOwnPagesLieOutsideGuestRam() {
        try (PhysicalMemory memory = new PhysicalMemory(16L << 20); Unicorn engine = Unicorn.openX86_64()) {
            List<String> warnings = new ArrayList<>();
            EnginePageTable table = EnginePageTable.create(engine, memory, warnings::add).orElseThrow();
            table.mapHole(0x7000_0000, PAGE, 0xfee0_0000L);
            assertEquals(EnginePageTable.HOLE_BASE + 0xfee0_0000L | 8 | RW, table.entry(0x7000_0000));
            var own = java.lang.foreign.Arena.ofAuto().allocate(PAGE, PAGE);
            table.mapOwn(0x9000_0000L, own, Protection.EXEC);
            assertEquals(EnginePageTable.OWN_BASE | 8 | Protection.EXEC, table.entry(0x9000_0000L));
            table.unmapOwn(0x9000_0000L);
            assertEquals(0, table.entry(0x9000_0000L));
            assertTrue(warnings.isEmpty(), warnings.toString());
        }
    }

    /**
     * guest/cr3_switch on the table: 20,000 rounds of two CR3 switches between spaces that map one
     * linear page onto different frames. Each switch is an ITLB and a DTLB miss in Java, each read
     * sees its own space's frame, the code lookups after a switch reach Java as the table's misses,
     * and Unicorn's regions stay as they were laid out (no map or unmap per miss).
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(ExecutionMode.class)
    void cr3SwitchesMissWithoutChangingRegions(ExecutionMode mode) throws Exception {
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        try (Machine m = new Machine(Machine.Config.defaults(serial))) {
            EnginePageTable table = (EnginePageTable) m.mmu().mappings().mapper();
            m.cpu().setExecutionMode(mode);
            m.boot(KernelImages.read(Guests.image("cr3_switch"), OptionalLong.empty(), OptionalLong.empty()), null);
            long regionsBefore = guestRegions(m);
            Machine.RunResult r = m.run();
            assertEquals(1, r.exitStatus(), serial.toString(StandardCharsets.ISO_8859_1));
            assertTrue(serial.toString(StandardCharsets.ISO_8859_1).contains("each space read its own frame after every switch"));
            Tlb.Statistics itlb = m.mmu().tlb().statistics(Tlb.Kind.INSTRUCTION);
            Tlb.Statistics dtlb = m.mmu().tlb().statistics(Tlb.Kind.DATA);
            assertTrue(itlb.misses() > 40_000, "an ITLB miss after every switch: " + itlb);
            assertTrue(dtlb.misses() > 40_000, "a DTLB miss after every switch: " + dtlb);
            assertTrue(table.misses() > 40_000, "the code lookups after each switch: " + table.statistics());
            assertEquals(0, table.poisoned(), table.statistics());
            assertEquals(regionsBefore, guestRegions(m), "no region per miss");
        }
    }

    /**
     * guest/noncanonical_far touches the engine-physical bases themselves (non-canonical, where the
     * regions of guest RAM and of the holes lie): no region refuses those accesses, so they reach
     * the table's fill from running code, and must still end as the #GP or #SS of the transcript.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(ExecutionMode.class)
    void nonCanonicalAccessesAtTheEngineBasesFault(ExecutionMode mode) throws Exception {
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        try (Machine m = new Machine(Machine.Config.defaults(serial))) {
            EnginePageTable table = (EnginePageTable) m.mmu().mappings().mapper();
            m.cpu().setExecutionMode(mode);
            m.boot(KernelImages.read(Guests.image("noncanonical_far"), OptionalLong.empty(), OptionalLong.empty()), null);
            Machine.RunResult r = m.run();
            assertEquals(1, r.exitStatus(), serial.toString(StandardCharsets.ISO_8859_1));
            assertEquals(Guests.expectedTranscript("noncanonical_far"), serial.toString(StandardCharsets.ISO_8859_1));
            assertTrue(table.runningMisses() >= 6, "the accesses at the RAM and hole bases come from running code: " + table.statistics());
            assertEquals(0, table.poisoned(), table.statistics());
        }
    }

    /** Unicorn's regions but pml4's own pages (the fetch fence maps its page once, when it is first raised). */
    private static long guestRegions(Machine m) {
        return m.engine().regions().stream().filter(r -> r.begin() < EnginePageTable.OWN_BASE
                || r.begin() >= EnginePageTable.OWN_BASE + (1L << 40)).count();
    }
}
