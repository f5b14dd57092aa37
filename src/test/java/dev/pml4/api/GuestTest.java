package dev.pml4.api;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.guest.Guests;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.PagingLevel;
import dev.pml4.mmu.Tlb;
import dev.pml4.mmu.TlbEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The Java API against the machine it wraps: events agree with the MMU's own counts, options act as in `pml4 run`. */
class GuestTest {
    @TempDir
    Path dir;

    @Test
    void walkAndTlbEventsAgreeWithTheMmusStatistics() throws SetupException {
        List<Walk> walks = new ArrayList<>();
        List<TlbEvent> tlb = new ArrayList<>();
        StringBuilder serial = new StringBuilder();
        try (Guest guest = Guest.builder(Guests.image("idt_demand")).options("--tlb", "tiny").listener(new GuestListener() {
            @Override
            public void walk(Walk walk) {
                walks.add(walk);
            }

            @Override
            public void tlb(TlbEvent event) {
                tlb.add(event);
            }

            @Override
            public void serial(int b) {
                serial.append((char) b);
            }
        }).build()) {
            guest.run();
            var mmu = guest.machine().mmu();
            assertEquals(mmu.walks(), walks.size());
            // every first touch is a walk that faults (a #PF may also come from a cached entry, without a walk)
            assertEquals(List.of(0x10000000010L, 0x10000001ff8L, 0x10000003000L, 0x10000002004L),
                    walks.stream().filter(w -> !w.translated()).map(Walk::address).distinct().toList());
            long fills = tlb.stream().filter(e -> e.kind() == TlbEvent.Kind.FILL).count();
            assertEquals(mmu.tlb().statistics(Tlb.Kind.DATA).fills() + mmu.tlb().statistics(Tlb.Kind.INSTRUCTION).fills(), fills);
            Walk firstFault = walks.stream().filter(w -> !w.translated()).findFirst().orElseThrow();
            assertEquals(0x10000000010L, firstFault.address());
            assertEquals("PML4E not present", firstFault.reason());
            assertEquals(PagingLevel.PML4, firstFault.last().orElseThrow().level());
            assertEquals(guest.serial(), serial.toString());

            EndState end = guest.state();
            for (TlbEntry e : end.tlb(Tlb.Kind.DATA)) {
                assertEquals(e, end.tlbEntry(Tlb.Kind.DATA, e.pageBase()).orElseThrow());
            }
            assertEquals(0x1000, end.register("cr3"));
            assertEquals(end.registers().get("rip"), end.register("RIP"));
            // the four pages of the region, in ranges of their own (frames came in the order of first touch)
            assertEquals(0x4000, end.pageTables().stream().filter(r -> r.virtualStart() >= 0x10000000000L && r.virtualStart() < 0x10000004000L)
                    .mapToLong(dev.pml4.inspect.Inspector.Range::length).sum());
            Walk w = end.walk(0x10000001ff8L, AccessType.READ, false);
            assertEquals(0x1111, java.nio.ByteBuffer.wrap(end.readPhysical(w.physical(), 8)).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong());
            assertTrue(end.show("walk 0x10000001ff8").contains("PTE    index   1"));
            assertThrows(IllegalArgumentException.class, () -> end.readVirtual(0x10000004000L, 8));
            assertThrows(IllegalStateException.class, guest::run);
        }
    }

    @Test
    void optionsActAsInRunAndBadOnesAreRefusedByName() throws Exception {
        try (Guest guest = Guest.builder(Guests.sourceDir().resolve("build/labs/grader-selftest/echo.elf"))
                .serialInput("typed".getBytes(StandardCharsets.UTF_8)).options("--stats", "--show", "walk:0x1000")
                .maxInstructions(100_000).build()) {
            assertEquals(1, guest.run().status());
            assertEquals("echo: TYPED\n", guest.serial());
            assertTrue(guest.report().contains(" instructions, "), guest.report());
            assertTrue(guest.report().contains("walk of 0x0000000000001000"), guest.report());
        }
        Path trace = dir.resolve("trace.txt");
        try (Guest guest = Guest.builder(Guests.image("hello")).options("--max-insns", "50", "--trace=" + trace).build()) {
            Outcome outcome = guest.run();
            assertEquals(6, outcome.status());
            assertEquals(50, outcome.instructions());
            assertTrue(Files.readAllLines(trace).stream().anyMatch(l -> l.matches("\\s+50\\s+[0-9a-f]{16}.*")), "instruction 50 traced");
        }
        SetupException mem = assertThrows(SetupException.class, () -> Guest.builder(Guests.image("hello")).options("--mem", "12X").build());
        assertTrue(mem.getMessage().contains("'--mem'"), mem.getMessage());
        SetupException gdb = assertThrows(SetupException.class, () -> Guest.builder(Guests.image("hello")).options("--gdb", "1").build());
        assertTrue(gdb.getMessage().startsWith("--gdb"), gdb.getMessage());
        Path junk = Files.writeString(dir.resolve("junk.elf"), "\u007fELF no");
        assertThrows(SetupException.class, () -> Guest.builder(junk).build());
    }
}
