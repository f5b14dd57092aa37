package dev.pml4.api;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.PagingLevel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The README's example: a course's JUnit 5 test of a demand-paging kernel through dev.pml4.api. */
class DemandPagingApiTest {
    @Test
    void everyFirstTouchFaultsOnceAndGetsAZeroedWritablePage() throws SetupException {
        List<Fault> faults = new ArrayList<>();
        try (Guest guest = Guest.builder(Path.of("guest/build/idt_demand.elf"))
                .options("--mem", "32M", "--tlb", "tiny")             // any option of `pml4 run`
                .listener(new GuestListener() {
                    @Override
                    public void fault(Fault fault) {
                        faults.add(fault);
                    }
                })
                .build()) {
            Outcome outcome = guest.run();
            assertEquals(1, outcome.status(), outcome.reason());     // the kernel wrote 0 to port 0xF4
            assertTrue(guest.serial().endsWith("idt_demand: ok, 4 page faults, 4 frames\n"));

            // #PF (vector 14) with the exact error codes and CR2 of each first touch
            assertEquals(List.of(14, 14, 14, 14), faults.stream().map(Fault::vector).toList());
            assertEquals(List.of(0x0, 0x2, 0x2, 0x0), faults.stream().map(Fault::errorCode).toList());
            assertEquals(0x10000000010L, faults.getFirst().cr2());

            // the end state: a probe walk, the PTE's bits, memory through the guest's tables
            EndState end = guest.state();
            Walk walk = end.walk(0x10000000018L, AccessType.WRITE, false);
            assertTrue(walk.translated(), walk.reason());
            assertEquals("RW S X", walk.rightsText());
            long pte = end.entry(0x10000000018L, PagingLevel.PT).orElseThrow().entryValue();
            assertEquals(0x63, pte & 0xfff);                          // P RW A D, supervisor
            assertEquals(0x2222, end.readVirtual64(0x10000000018L));
            assertFalse(end.walk(0x10000004000L, AccessType.READ, false).translated());
        }
    }
}
