package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.ffi.unicorn.Unicorn;
import dev.pml4.guest.Guests;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.Tlb;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;

/**
 * Parked engine regions (EnginePageMapper, where the engine page table cannot be had) keep the TLB exact: guest/cr3_switch reads one linear
 * page that each of two address spaces maps onto its own frame, 20,000 rounds of two CR3 switches.
 * Every switch must come back to Java as an ITLB and a DTLB miss (the flush dropped both entries),
 * every read must see the frame of the space it ran in, and those misses must be what the cheap
 * path served: a parked region given its rights back, re-pointed in place at the other frame, with
 * no Unicorn map or unmap (a rebuild of its memory view) per switch.
 */
class ParkedMappingsTest {
    private static final int SWITCHES = 2 * 20_000;

    @ParameterizedTest(name = "{0}")
    @EnumSource(ExecutionMode.class)
    void everyCr3SwitchMissesAndReadsItsOwnFrame(ExecutionMode mode) throws Exception {
        Assumptions.assumeTrue(Unicorn.canFlushSoftTlb(), "parking needs Debian's libunicorn 2.0.1");
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        // Regions are the fallback where the engine page table cannot be had (EnginePageTable).
        System.setProperty("pml4.engineRegions", "true");
        Machine machine;
        try {
            machine = new Machine(Machine.Config.defaults(serial));
        } finally {
            System.clearProperty("pml4.engineRegions");
        }
        try (Machine m = machine) {
            m.cpu().setExecutionMode(mode);
            m.boot(KernelImages.read(Guests.image("cr3_switch"), OptionalLong.empty(), OptionalLong.empty()), null);
            Machine.RunResult r = m.run();
            assertEquals(1, r.exitStatus(), serial.toString(StandardCharsets.ISO_8859_1));
            assertTrue(serial.toString(StandardCharsets.ISO_8859_1).contains("each space read its own frame after every switch"));
            Tlb.Statistics itlb = m.mmu().tlb().statistics(Tlb.Kind.INSTRUCTION);
            Tlb.Statistics dtlb = m.mmu().tlb().statistics(Tlb.Kind.DATA);
            assertTrue(itlb.misses() > SWITCHES, "an ITLB miss after every switch: " + itlb);
            assertTrue(dtlb.misses() > SWITCHES, "a DTLB miss after every switch: " + dtlb);
            EnginePageMapper pages = (EnginePageMapper) m.mmu().mappings().mapper();
            assertTrue(pages.unparks() >= 2L * (SWITCHES - 4), "code and data unparked at each switch: " + pages.unparks());
            assertTrue(pages.retargets() >= SWITCHES - 4, "the data page onto the other space's frame: " + pages.retargets());
            assertTrue(pages.parkedRegions() <= EnginePageMapper.PARKED_LIMIT);
            assertTrue(pages.rebuilds() < 100, "no memory-view rebuild per switch: " + pages.rebuilds() + " in " + SWITCHES + " switches");
        }
    }
}
