package dev.pml4.mmu;

/**
 * The architectural state that a page walk depends on, as the guest sees it.
 *
 * <p>Bit positions: CR0 and CR4 from SDM Vol. 3A 2.5 ("Control Registers"), IA32_EFER from
 * SDM Vol. 3A 2.2.1 ("Extended Feature Enable Register"), CR3 from SDM Vol. 3A 4.5, Tables 4-12
 * and 4-13 (CR3 with CR4.PCIDE=0 and =1).
 *
 * @param cr0            CR0
 * @param cr3            CR3
 * @param cr4            CR4
 * @param efer           IA32_EFER (MSR C000_0080H)
 * @param alignmentCheck RFLAGS.AC (bit 18), which lets explicit supervisor accesses through SMAP
 * @param pdptes         PAE paging's PDPTE registers as last loaded (SDM 4.4.1); null when the
 *                       processor has none loaded, or for a view that walks the PDPT as it is in
 *                       memory now
 */
public record PagingState(long cr0, long cr3, long cr4, long efer, boolean alignmentCheck, PdpteRegisters pdptes) {
    /** The state without PDPTE registers: a PAE walk reads the PDPT in memory. */
    public PagingState(long cr0, long cr3, long cr4, long efer, boolean alignmentCheck) {
        this(cr0, cr3, cr4, efer, alignmentCheck, null);
    }

    /** CR4.PSE (bit 4): 4-MiB pages under 32-bit paging (SDM 4.3). */
    public static final long CR4_PSE = 1L << 4;

    /** CR0.WP (bit 16): supervisor writes honour R/W (SDM 2.5, 4.6). */
    public static final long CR0_WP = 1L << 16;
    /** CR0.PG (bit 31): paging enabled (SDM 2.5). */
    public static final long CR0_PG = 1L << 31;

    /** CR3.PWT (bit 3), meaningful only while CR4.PCIDE=0 (SDM Table 4-12). */
    public static final long CR3_PWT = 1L << 3;
    /** CR3.PCD (bit 4), meaningful only while CR4.PCIDE=0 (SDM Table 4-12). */
    public static final long CR3_PCD = 1L << 4;
    /** CR3 bits 11:0 are the current PCID while CR4.PCIDE=1 (SDM Table 4-13). */
    public static final long CR3_PCID_MASK = 0xfffL;
    /** CR3 bits 51:12: the physical address of the PML4 table, at the widest MAXPHYADDR (52). */
    public static final long CR3_BASE_MASK = 0x000f_ffff_ffff_f000L;

    /** CR4.PAE (bit 5). */
    public static final long CR4_PAE = 1L << 5;
    /** CR4.PGE (bit 7): global pages. */
    public static final long CR4_PGE = 1L << 7;
    /** CR4.LA57 (bit 12): 5-level paging. */
    public static final long CR4_LA57 = 1L << 12;
    /** CR4.PCIDE (bit 17): process-context identifiers. */
    public static final long CR4_PCIDE = 1L << 17;
    /** CR4.SMEP (bit 20): supervisor-mode execution prevention. */
    public static final long CR4_SMEP = 1L << 20;
    /** CR4.SMAP (bit 21): supervisor-mode access prevention. */
    public static final long CR4_SMAP = 1L << 21;

    /** IA32_EFER.LME (bit 8): IA-32e mode enable. */
    public static final long EFER_LME = 1L << 8;
    /** IA32_EFER.LMA (bit 10): IA-32e mode active (set by the CPU). */
    public static final long EFER_LMA = 1L << 10;
    /** IA32_EFER.NXE (bit 11): execute-disable enable; with NXE=0, bit 63 of every entry is reserved. */
    public static final long EFER_NXE = 1L << 11;

    public boolean pagingEnabled() {
        return (cr0 & CR0_PG) != 0;
    }

    public boolean wp() {
        return (cr0 & CR0_WP) != 0;
    }

    public boolean pse() {
        return (cr4 & CR4_PSE) != 0;
    }

    public boolean pae() {
        return (cr4 & CR4_PAE) != 0;
    }

    public boolean pge() {
        return (cr4 & CR4_PGE) != 0;
    }

    public boolean la57() {
        return (cr4 & CR4_LA57) != 0;
    }

    public boolean pcide() {
        return (cr4 & CR4_PCIDE) != 0;
    }

    public boolean smep() {
        return (cr4 & CR4_SMEP) != 0;
    }

    public boolean smap() {
        return (cr4 & CR4_SMAP) != 0;
    }

    public boolean lme() {
        return (efer & EFER_LME) != 0;
    }

    public boolean nxe() {
        return (efer & EFER_NXE) != 0;
    }

    /**
     * True when CR0.PG=1, CR4.PAE=1, IA32_EFER.LME=1 and CR4.LA57=0: four-level paging
     * (SDM Vol. 3A 4.1.1, Table 4-1).
     */
    public boolean fourLevelPaging() {
        return pagingEnabled() && pae() && lme() && !la57();
    }

    /** The paging mode these registers select (SDM Table 4-1). */
    public PagingMode mode() {
        return PagingMode.of(this);
    }

    /** The current PCID: CR3 bits 11:0 while CR4.PCIDE=1, else 0 (SDM 4.10.1). */
    public int pcid() {
        return pcide() ? (int) (cr3 & CR3_PCID_MASK) : 0;
    }

    /**
     * The physical address of the PML4 table: CR3 bits 51:12. Bits 51:MAXPHYADDR of CR3 are
     * reserved and MOV to CR3 refuses to set them (#GP), so for a CR3 the guest could load this
     * equals {@link #pml4Base(int)} at any MAXPHYADDR. Bits 63:52 (the no-flush bit of MOV to CR3
     * and LAM controls) are not part of the address.
     */
    public long pml4Base() {
        return cr3 & CR3_BASE_MASK;
    }

    /** CR3 bits MAXPHYADDR-1:12, the address the processor actually uses (SDM Table 4-12). */
    public long pml4Base(int maxPhysAddr) {
        return cr3 & PageWalker.frameMask(maxPhysAddr);
    }
}
