package dev.pml4.mmu;

import java.util.List;

/**
 * The paging mode CR0.PG, CR4.PAE, IA32_EFER.LME and CR4.LA57 select (SDM Vol. 3A 4.1.1, Table 4-1).
 * The walker translates by it; every view that shows paging names it.
 */
public enum PagingMode {
    /** CR0.PG = 0: linear addresses are physical addresses (SDM 4.1.1); nothing is walked or cached. */
    NONE("paging off (CR0.PG=0): linear addresses are physical", 32, List.of()),
    /** CR0.PG = 1, CR4.PAE = 0 (SDM 4.3): 32-bit linear addresses, two levels of 4-byte entries. */
    BITS_32("32-bit paging (CR0.PG=1, CR4.PAE=0)", 32, List.of(PagingLevel.PD_32, PagingLevel.PT_32)),
    /** CR0.PG = 1, CR4.PAE = 1, IA32_EFER.LME = 0 (SDM 4.4): the PDPTE registers, then PD and PT. */
    PAE("PAE paging (CR4.PAE=1, IA32_EFER.LME=0)", 32, List.of(PagingLevel.PAE_PDPT, PagingLevel.PD, PagingLevel.PT)),
    /** CR0.PG = 1, CR4.PAE = 1, IA32_EFER.LME = 1, CR4.LA57 = 0 (SDM 4.5): 48-bit linear addresses. */
    FOUR_LEVEL("4-level paging (CR4.PAE=1, IA32_EFER.LME=1, CR4.LA57=0)", 48,
            List.of(PagingLevel.PML4, PagingLevel.PDPT, PagingLevel.PD, PagingLevel.PT)),
    /** CR0.PG = 1, CR4.PAE = 1, IA32_EFER.LME = 1, CR4.LA57 = 1 (SDM 4.5): 57-bit linear addresses. */
    FIVE_LEVEL("5-level paging (CR4.LA57=1)", 57,
            List.of(PagingLevel.PML5, PagingLevel.PML4, PagingLevel.PDPT, PagingLevel.PD, PagingLevel.PT));

    private final String description;
    private final int linearBits;
    private final List<PagingLevel> levels;

    PagingMode(String description, int linearBits, List<PagingLevel> levels) {
        this.description = description;
        this.linearBits = linearBits;
        this.levels = levels;
    }

    /** Table 4-1. */
    public static PagingMode of(PagingState state) {
        if (!state.pagingEnabled()) {
            return NONE;
        }
        if (!state.pae()) {
            return BITS_32;
        }
        if (!state.lme()) {
            return PAE;
        }
        return state.la57() ? FIVE_LEVEL : FOUR_LEVEL;
    }

    /** "4-level paging (...)", "paging off (CR0.PG=0): ...": for views and messages. */
    public String description() {
        return description;
    }

    /** The linear-address width this mode translates (Table 4-1): 32, 48 or 57. */
    public int linearBits() {
        return linearBits;
    }

    /** The paging-structure levels in walk order; empty with paging off. */
    public List<PagingLevel> levels() {
        return levels;
    }

    /**
     * Whether a linear address is canonical for this mode: in IA-32e mode, bits 63:linearBits-1 all
     * equal (SDM Vol. 1 3.3.7.1; 4.5 for 57-bit addresses); outside it every 32-bit address is valid.
     */
    public boolean canonical(long linearAddress) {
        if (linearBits == 32) {
            return true;
        }
        long top = linearAddress >> (linearBits - 1);
        return top == 0 || top == -1;
    }
}
