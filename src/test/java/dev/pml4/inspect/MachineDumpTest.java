package dev.pml4.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pml4.guest.Guests;
import dev.pml4.machine.KernelImages;
import dev.pml4.machine.Machine;
import dev.pml4.mmu.AccessMode;
import dev.pml4.mmu.AccessType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/** A dump shows, after the run, exactly what the live machine showed at its end. */
class MachineDumpTest {
    @TempDir
    Path dir;

    @Test
    void theDumpInspectsLikeTheMachine() throws Exception {
        Path file = dir.resolve("idt_user.dump");
        String pt, tlb, idt, walk;
        try (Machine m = new Machine(Machine.Config.defaults(OutputStream.nullOutputStream()))) {
            m.boot(KernelImages.read(Guests.image("idt_user"), OptionalLong.empty(), OptionalLong.empty()), null);
            m.run();
            m.dump(file, Guests.image("idt_user").toAbsolutePath().toString());
            Inspector live = m.inspector();
            pt = live.pageTables();
            tlb = live.tlbEntries();
            idt = live.idt();
            walk = live.walk(0x100000, AccessType.READ, AccessMode.USER);
        }
        try (MachineDump d = MachineDump.read(file)) {
            Inspector saved = d.inspector();
            assertEquals(pt, saved.pageTables());
            assertEquals(tlb, saved.tlbEntries());
            assertEquals(idt, saved.idt(), "symbols come back from the image too");
            assertEquals(walk, saved.walk(0x100000, AccessType.READ, AccessMode.USER));
        }
    }

    /** PAE's PDPTE registers are part of the dump: the saved views use them as the live ones do. */
    @Test
    void aPaeDumpKeepsThePdpteRegisters() throws Exception {
        Path file = dir.resolve("paging_pae.dump");
        String tlb, walk;
        try (Machine m = new Machine(Machine.Config.defaults(OutputStream.nullOutputStream()))) {
            m.boot(KernelImages.read(Guests.image("paging_pae"), OptionalLong.empty(), OptionalLong.empty()), null);
            m.run();
            m.dump(file, Guests.image("paging_pae").toAbsolutePath().toString());
            tlb = m.inspector().tlbEntries();
            walk = m.inspector().walk(0x40100000L, AccessType.READ, AccessMode.SUPERVISOR);
        }
        assertTrue(tlb.startsWith("PDPTE registers (loaded from 0x109020):"), tlb);
        try (MachineDump d = MachineDump.read(file)) {
            assertEquals(tlb, d.inspector().tlbEntries());
            assertEquals(walk, d.inspector().walk(0x40100000L, AccessType.READ, AccessMode.SUPERVISOR));
        }
    }

    @Test
    void somethingElseIsRefused() throws IOException {
        Path notADump = dir.resolve("x");
        Files.writeString(notADump, "hello");
        assertThrows(IOException.class, () -> MachineDump.read(notADump));
    }
}
