package dev.pml4.cpu;

import dev.pml4.machine.PhysicalMemory;
import dev.pml4.mmu.PagingMode;
import dev.pml4.mmu.PagingState;
import dev.pml4.mmu.PdpteRegisters;

/**
 * The control registers and EFER as the guest sees them (SDM Vol. 3A 2.5 and 2.2.1). The engine's
 * own CR0/CR4 never hold the paging bits: QEMU's paging stays off, and pml4's MMU uses these.
 * Writes are checked here against the SDM's rules; a violation is the #GP the instruction raises.
 * PAE paging's PDPTE registers live here too, loaded by the writes SDM 4.4.1 lists.
 */
public final class ControlRegisters {
    // CR0 bits, SDM Vol. 3A 2.5.
    public static final long CR0_PE = 1L;
    public static final long CR0_MP = 1L << 1;
    public static final long CR0_EM = 1L << 2;
    public static final long CR0_TS = 1L << 3;
    public static final long CR0_ET = 1L << 4;
    public static final long CR0_NE = 1L << 5;
    public static final long CR0_WP = 1L << 16;
    public static final long CR0_AM = 1L << 18;
    public static final long CR0_NW = 1L << 29;
    public static final long CR0_CD = 1L << 30;
    public static final long CR0_PG = 1L << 31;
    private static final long CR0_DEFINED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM
            | CR0_NW | CR0_CD | CR0_PG;

    // CR4 bits, SDM Vol. 3A 2.5.
    public static final long CR4_TSD = 1L << 2;
    public static final long CR4_DE = 1L << 3;
    public static final long CR4_PSE = 1L << 4;
    public static final long CR4_PAE = 1L << 5;
    public static final long CR4_MCE = 1L << 6;
    public static final long CR4_PGE = 1L << 7;
    public static final long CR4_PCE = 1L << 8;
    public static final long CR4_OSFXSR = 1L << 9;
    public static final long CR4_OSXMMEXCPT = 1L << 10;
    public static final long CR4_UMIP = 1L << 11;
    public static final long CR4_LA57 = 1L << 12;
    public static final long CR4_FSGSBASE = 1L << 16;
    public static final long CR4_PCIDE = 1L << 17;
    public static final long CR4_OSXSAVE = 1L << 18;
    public static final long CR4_SMEP = 1L << 20;
    public static final long CR4_SMAP = 1L << 21;
    /**
     * What this CPU model implements, as {@link Cpuid} reports it; setting anything else raises #GP
     * (SDM 2.5: CR4 bits of features CPUID does not enumerate are reserved). UMIP, FSGSBASE and
     * OSXSAVE are left out because pml4 does not implement them.
     */
    public static final long CR4_SUPPORTED = CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | CR4_PCE
            | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_LA57 | CR4_PCIDE | CR4_SMEP | CR4_SMAP;
    /** MOV to CR4 changing one of these reloads the PDPTE registers when PAE paging is in use after it (SDM 4.4.1). */
    private static final long CR4_PDPTE_RELOAD = CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP;
    /** MOV to CR0 changing one of these does the same. */
    private static final long CR0_PDPTE_RELOAD = CR0_CD | CR0_NW | CR0_PG;

    // IA32_EFER bits, SDM Vol. 3A 2.2.1.
    public static final long EFER_SCE = 1L;
    public static final long EFER_LME = 1L << 8;
    public static final long EFER_LMA = 1L << 10;
    public static final long EFER_NXE = 1L << 11;
    private static final long EFER_WRITABLE = EFER_SCE | EFER_LME | EFER_NXE;

    private final int maxPhysAddr;
    /** Where PAE's PDPTE registers are loaded from; null in tests that never enable PAE paging. */
    private final PhysicalMemory memory;
    private PdpteRegisters pdptes;
    private long cr0;
    private long cr2;
    private long cr3;
    private long cr4;
    private long cr8;
    private long efer;

    public ControlRegisters(int maxPhysAddr) {
        this(maxPhysAddr, null);
    }

    public ControlRegisters(int maxPhysAddr, PhysicalMemory memory) {
        this.maxPhysAddr = maxPhysAddr;
        this.memory = memory;
    }

    /** Loads the boot state without checks (the loader's values are BOOT.md's). */
    public void reset(long cr0, long cr3, long cr4, long efer) {
        this.cr0 = cr0;
        this.cr2 = 0;
        this.cr3 = cr3;
        this.cr4 = cr4;
        this.cr8 = 0;
        this.efer = efer;
        this.pdptes = null;
    }

    /** PAE paging's PDPTE registers as last loaded (SDM 4.4.1); null before the first load. */
    public PdpteRegisters pdptes() {
        return pdptes;
    }

    public long cr0() { return cr0; }
    public long cr2() { return cr2; }
    public long cr3() { return cr3; }
    public long cr4() { return cr4; }
    public long cr8() { return cr8; }
    public long efer() { return efer; }

    public void setCr2(long value) {
        cr2 = value;
    }

    public void setCr8(long value) {
        if ((value & ~0xfL) != 0) {
            throw ArchitecturalException.gp(String.format("MOV to CR8 with reserved bits set (0x%x)", value));
        }
        cr8 = value;
    }

    public PagingState pagingState(boolean alignmentCheck) {
        return new PagingState(cr0, cr3, cr4, efer, alignmentCheck, pdptes);
    }

    /**
     * Checks a MOV to CR0 (SDM Vol. 2B "MOV—Move to/from Control Registers", protected-mode
     * exceptions; Vol. 3A 9.8.5 "Initializing IA-32e Mode").
     *
     * @param code64 the instruction runs in 64-bit mode (CS.L = 1), where paging cannot be turned off
     */
    public void checkCr0(long value, boolean code64) {
        if ((value >>> 32) != 0) {
            throw ArchitecturalException.gp(String.format("MOV to CR0 sets reserved bits 63:32 (0x%x)", value));
        }
        if ((value & CR0_PG) != 0 && (value & CR0_PE) == 0) {
            throw ArchitecturalException.gp("MOV to CR0 sets PG without PE");
        }
        if ((value & CR0_NW) != 0 && (value & CR0_CD) == 0) {
            throw ArchitecturalException.gp("MOV to CR0 sets NW without CD");
        }
        if ((efer & EFER_LMA) != 0 && (value & CR0_PG) == 0 && code64) {
            // Leaving long mode needs a compatibility-mode code segment first (SDM 9.8.5.4).
            throw ArchitecturalException.gp("MOV to CR0 clears PG while in 64-bit mode");
        }
        if ((cr0 & CR0_PG) == 0 && (value & CR0_PG) != 0 && (efer & EFER_LME) != 0 && (cr4 & CR4_PAE) == 0) {
            // Activating IA-32e mode requires PAE (SDM 9.8.5, MOV CR0 #GP: "PG = 1 with LME = 1 and PAE = 0").
            throw ArchitecturalException.gp("MOV to CR0 sets PG with EFER.LME = 1 but CR4.PAE = 0");
        }
        if ((value & CR0_PG) == 0 && (cr4 & CR4_PCIDE) != 0) {
            throw ArchitecturalException.gp("MOV to CR0 clears PG while CR4.PCIDE = 1");
        }
    }

    /**
     * MOV to CR0. Setting PG with EFER.LME = 1 activates IA-32e mode (EFER.LMA = 1); clearing PG
     * (from compatibility mode) deactivates it (SDM 9.8.5, 9.8.5.4).
     */
    public void setCr0(long value, boolean code64) {
        checkCr0(value, code64);
        long next = value | CR0_ET; // ET is hardwired to 1 (SDM 2.5).
        if (((next ^ cr0) & CR0_PDPTE_RELOAD) != 0) {
            loadPdptesIfPae(next, cr3, cr4, "MOV to CR0");
        }
        boolean wasPaging = (cr0 & CR0_PG) != 0;
        cr0 = next;
        boolean paging = (cr0 & CR0_PG) != 0;
        if (!wasPaging && paging && (efer & EFER_LME) != 0) {
            efer |= EFER_LMA;
        } else if (wasPaging && !paging) {
            efer &= ~EFER_LMA;
        }
    }

    /** Checks a MOV to CR3: bits above MAXPHYADDR are reserved, except bit 63 under PCIDE (SDM 4.5.2, 4.10.4.1). */
    public void checkCr3(long value) {
        long body = (cr4 & CR4_PCIDE) != 0 ? value & ~(1L << 63) : value;
        if ((body >>> maxPhysAddr) != 0) {
            throw ArchitecturalException.gp(String.format("MOV to CR3 sets bits above MAXPHYADDR (%d): 0x%x", maxPhysAddr, value));
        }
    }

    /** Stores CR3 without the no-flush bit 63, which is never kept (SDM 4.10.4.1). */
    public void setCr3(long value) {
        checkCr3(value);
        loadPdptesIfPae(cr0, value & ~(1L << 63), cr4, "MOV to CR3");
        cr3 = value & ~(1L << 63);
    }

    /**
     * SDM 4.4.1: when PAE paging is in use after the write, the four PDPTEs at CR3[31:5] are loaded
     * into the PDPTE registers; a present one with a reserved bit set makes the write #GP(0), and
     * nothing changes. Not in IA-32e mode (LME set with PG makes 4-level or 5-level paging).
     */
    private void loadPdptesIfPae(long newCr0, long newCr3, long newCr4, String what) {
        PagingState next = new PagingState(newCr0, newCr3, newCr4, efer, false);
        if (next.mode() != PagingMode.PAE || memory == null) {
            return;
        }
        PdpteRegisters loaded = PdpteRegisters.read(memory, newCr3);
        String fault = loaded.loadFault(maxPhysAddr);
        if (fault != null) {
            throw ArchitecturalException.gp(what + " loads the PDPTE registers: " + fault);
        }
        pdptes = loaded;
    }

    public void checkCr4(long value) {
        if ((value & ~CR4_SUPPORTED) != 0) {
            throw ArchitecturalException.gp(String.format("MOV to CR4 sets reserved bits 0x%x", value & ~CR4_SUPPORTED));
        }
        if ((efer & EFER_LMA) != 0 && ((value ^ cr4) & CR4_LA57) != 0) {
            // LA57 can change only with paging off, outside IA-32e mode (SDM 4.1.1; MOV CR4 #GP).
            throw ArchitecturalException.gp("MOV to CR4 changes LA57 while IA-32e mode is active (EFER.LMA = 1)");
        }
        if ((efer & EFER_LMA) != 0 && (value & CR4_PAE) == 0) {
            throw ArchitecturalException.gp("MOV to CR4 clears PAE while IA-32e mode is active (EFER.LMA = 1)");
        }
        if ((value & CR4_PCIDE) != 0 && (cr4 & CR4_PCIDE) == 0 && (cr3 & 0xfff) != 0) {
            throw ArchitecturalException.gp(String.format("MOV to CR4 sets PCIDE while CR3[11:0] = 0x%x (must be 0)", cr3 & 0xfff));
        }
        if ((value & CR4_PCIDE) != 0 && (efer & EFER_LMA) == 0) {
            throw ArchitecturalException.gp("MOV to CR4 sets PCIDE outside IA-32e mode");
        }
    }

    public void setCr4(long value) {
        checkCr4(value);
        if (((value ^ cr4) & CR4_PDPTE_RELOAD) != 0) {
            loadPdptesIfPae(cr0, cr3, value, "MOV to CR4");
        }
        cr4 = value;
    }

    /** WRMSR to IA32_EFER: reserved bits, and LME may not change while paging is on (SDM 2.2.1, 9.8.5). LMA is read-only. */
    public void setEfer(long value) {
        if ((value & ~(EFER_WRITABLE | EFER_LMA)) != 0) {
            throw ArchitecturalException.gp(String.format("WRMSR to IA32_EFER sets reserved bits 0x%x", value & ~(EFER_WRITABLE | EFER_LMA)));
        }
        if ((cr0 & CR0_PG) != 0 && ((value ^ efer) & EFER_LME) != 0) {
            throw ArchitecturalException.gp("WRMSR to IA32_EFER changes LME while paging is enabled");
        }
        efer = (value & EFER_WRITABLE) | (efer & EFER_LMA);
    }
}
