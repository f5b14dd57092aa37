package dev.pml4.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pml4.guest.Guests;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.AccessMode;
import dev.pml4.mmu.AccessType;
import dev.pml4.mmu.Tlb;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.util.List;
import java.util.OptionalLong;

/** The inspections show the demo kernel's own tables as it left them, and change nothing. */
class InspectorTest {
    interface Check {
        void on(Machine m) throws Exception;
    }

    static void afterRun(String guest, Check check) throws Exception {
        try (Machine m = new Machine(Machine.Config.defaults(OutputStream.nullOutputStream()))) {
            m.boot(KernelImages.read(Guests.image(guest), OptionalLong.empty(), OptionalLong.empty()), null);
            m.run();
            check.on(m);
        }
    }

    /** A Multiboot kernel enters with paging off: the views say so instead of walking CR3 = 0. */
    @Test
    void withPagingOffTheViewsSaySo() throws Exception {
        try (Machine m = new Machine(Machine.Config.defaults(OutputStream.nullOutputStream()))) {
            m.boot(KernelImages.read(Guests.image("mb1_vga32"), OptionalLong.empty(), OptionalLong.empty()), null);
            Inspector inspector = m.inspector();
            assertEquals("paging is off (CR0.PG=0): linear addresses are physical addresses\n",
                    inspector.answer("pt", List.of()));
            assertTrue(inspector.answer("walk", List.of("0xb8000")).contains("-> physical 0xb8000"));
            assertTrue(inspector.answer("pt-dot", List.of()).startsWith("digraph"));
        }
    }

    @Test
    void pageTablesMergeRangesAndShowTheAlias() throws Exception {
        afterRun("demo", m -> {
            List<Inspector.Range> ranges = m.inspector().ranges();
            assertEquals(new Inspector.Range(0, 0, 4L << 20, "RW S X"), ranges.getFirst(), "two 2 MiB pages, one range");
            assertTrue(ranges.contains(new Inspector.Range(0x0000004000000000L, 0x109000, 4096, "RW S X")));
            assertTrue(ranges.contains(new Inspector.Range(0xffff8000dead0000L, 0x109000, 4096, "RW S X")), "the alias: same frame");
            assertTrue(m.inspector().pageTablesDot().startsWith("digraph pagetables {"));
        });
    }

    @Test
    void aWalkShowsEveryLevelAndSetsNothing() throws Exception {
        afterRun("demo", m -> {
            long walksBefore = m.mmu().walks();
            var dtlbBefore = m.mmu().tlb().entries(Tlb.Kind.DATA);
            String walk = m.inspector().walk(0xffff8000dead0000L, AccessType.WRITE, AccessMode.SUPERVISOR);
            assertTrue(walk.contains("PML4E  index 256"), walk);
            assertTrue(walk.contains("PTE    index 208"), walk);
            assertTrue(walk.contains("-> physical 0x109000 (4 KiB page at 0x109000)"), walk);
            assertEquals(walksBefore, m.mmu().walks(), "a probe is not a walk the TLB counts");
            assertEquals(dtlbBefore, m.mmu().tlb().entries(Tlb.Kind.DATA));
            String pte = m.inspector().walk(0xffff8000dead0000L, AccessType.WRITE, AccessMode.SUPERVISOR);
            assertTrue(pte.contains("= 0x0000000000109023  P RW S A\n"), "D still clear after probing a write: " + pte);
            assertTrue(m.inspector().walk(0x10000000000L, AccessType.READ, AccessMode.SUPERVISOR).contains("#PF error code 0x0"));
        });
    }

    @Test
    void theIdtListsGatesWithTheirHandlers() throws Exception {
        afterRun("idt_basic", m -> {
            String idt = m.inspector().idt();
            assertTrue(idt.contains(" 14 #PF   interrupt P DPL 0 IST 0  0x0008:"), idt);
            assertTrue(idt.contains("<h_pf>"), idt);
            assertTrue(idt.contains("128       interrupt P DPL 3"), idt);
        });
    }

    @Test
    void theTlbListsItsEntries() throws Exception {
        afterRun("demo", m -> {
            String tlb = m.inspector().tlbEntries();
            assertTrue(tlb.contains("4 KiB   0xffff8000dead0000 -> 0x0000109000  RW S X pcid 0"), tlb);
            assertTrue(tlb.contains("4 KiB   0x0000004000000000 -> 0x0000109000  RW S X D pcid 0"), tlb);
        });
    }
}
