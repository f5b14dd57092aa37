package dev.pml4.cpu;

import static org.junit.jupiter.api.Assertions.*;

import dev.pml4.machine.PhysicalMemory;
import dev.pml4.mmu.PagingMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The control-register rules of the paging modes: PDPTE loads (SDM 4.4.1), LA57 (4.5), the mode each write selects. */
class PagingControlTest {
    private static final long PE = ControlRegisters.CR0_PE;
    private static final long PG = ControlRegisters.CR0_PG;
    private static final long PDPT = 0x2020;

    private final PhysicalMemory mem = new PhysicalMemory(1L << 20);
    private final ControlRegisters cr = new ControlRegisters(40, mem);

    @AfterEach
    void close() {
        mem.close();
    }

    private void paePaging() {
        cr.reset(PE, 0, 0, 0);
        cr.setCr4(ControlRegisters.CR4_PAE);
        cr.setCr3(PDPT);
        cr.setCr0(PE | PG, false);
    }

    @Test
    void enablingPaePagingLoadsThePdpteRegisters() {
        mem.write64(PDPT, 0x3001);
        mem.write64(PDPT + 24, 0x4019);
        paePaging();
        assertEquals(PagingMode.PAE, cr.pagingState(false).mode());
        assertEquals(0x3001, cr.pdptes().entry(0));
        assertEquals(0x4019, cr.pdptes().entry(3));
        assertEquals(PDPT, cr.pdptes().tableAddress());
        mem.write64(PDPT, 0); // the PDPT in memory changes: the registers do not
        assertEquals(0x3001, cr.pagingState(false).pdptes().entry(0));
        cr.setCr3(PDPT); // until MOV to CR3 loads them again
        assertEquals(0, cr.pdptes().entry(0));
    }

    @ParameterizedTest(name = "PDPTE 0x{0}")
    @ValueSource(longs = {0x3003, 0x3005, 0x3021, 0x3041, 0x3081, 0x3101, 0x10000003001L, 0x8000000000003001L})
    void aReservedBitInAPresentPdpteMakesTheLoadGp(long pdpte) {
        paePaging();
        mem.write64(PDPT + 16, pdpte);
        var e = assertThrows(ArchitecturalException.class, () -> cr.setCr3(PDPT));
        assertEquals(ArchitecturalException.GP, e.vector());
        assertEquals(0, e.errorCode());
        assertEquals(PDPT, cr.cr3());
        assertEquals(0, cr.pdptes().entry(2), "the registers are unchanged");
        // MOV to CR4 toggling PGE and MOV to CR0 toggling CD reload too (SDM 4.4.1), and fault the same way.
        assertThrows(ArchitecturalException.class, () -> cr.setCr4(ControlRegisters.CR4_PAE | ControlRegisters.CR4_PGE));
        assertEquals(ControlRegisters.CR4_PAE, cr.cr4());
        assertThrows(ArchitecturalException.class, () -> cr.setCr0(PE | PG | ControlRegisters.CR0_CD, false));
        assertEquals(PE | PG | ControlRegisters.CR0_ET, cr.cr0());
    }

    @Test
    void notPresentPdptesMayHoldAnything() {
        paePaging();
        mem.write64(PDPT + 8, 0xffff_ffff_ffff_fffeL);
        cr.setCr3(PDPT);
        assertEquals(0xffff_ffff_ffff_fffeL, cr.pdptes().entry(1));
    }

    @Test
    void thirtyTwoBitPagingLoadsNoPdptes() {
        mem.write64(PDPT, 0x3003); // would be reserved under PAE
        cr.reset(PE, 0, 0, 0);
        cr.setCr3(PDPT);
        cr.setCr0(PE | PG, false);
        assertEquals(PagingMode.BITS_32, cr.pagingState(false).mode());
        assertNull(cr.pdptes());
    }

    @Test
    void la57ChangesOnlyOutsideIa32eMode() {
        cr.reset(PE, 0, 0, 0);
        cr.setCr4(ControlRegisters.CR4_PAE | ControlRegisters.CR4_LA57);
        cr.setEfer(ControlRegisters.EFER_LME);
        cr.setCr0(PE | PG, false);
        assertEquals(PagingMode.FIVE_LEVEL, cr.pagingState(false).mode());
        var e = assertThrows(ArchitecturalException.class, () -> cr.setCr4(ControlRegisters.CR4_PAE));
        assertEquals(ArchitecturalException.GP, e.vector());
        assertTrue(e.reason().contains("LA57"), e.reason());
    }
}
