package dev.pml4.mmu;

/**
 * The paging mode CR0.PG, CR4.PAE, IA32_EFER.LME and CR4.LA57 select (SDM Vol. 3A 4.1.1, Table 4-1).
 * The walker translates by it; every view that shows paging names it.
 */
public enum PagingMode {
    /** CR0.PG = 0: linear addresses are physical addresses (SDM 4.1.1); nothing is walked or cached. */
    NONE("paging off (CR0.PG=0): linear addresses are physical"),
    /** CR0.PG = 1, CR4.PAE = 0 (SDM 4.3). */
    BITS_32("32-bit paging (CR0.PG=1, CR4.PAE=0)"),
    /** CR0.PG = 1, CR4.PAE = 1, IA32_EFER.LME = 0 (SDM 4.4). */
    PAE("PAE paging (CR4.PAE=1, IA32_EFER.LME=0)"),
    /** CR0.PG = 1, CR4.PAE = 1, IA32_EFER.LME = 1, CR4.LA57 = 0 (SDM 4.5). */
    FOUR_LEVEL("4-level paging (CR4.PAE=1, IA32_EFER.LME=1, CR4.LA57=0)"),
    /** CR0.PG = 1, CR4.PAE = 1, IA32_EFER.LME = 1, CR4.LA57 = 1 (SDM 4.5). */
    FIVE_LEVEL("5-level paging (CR4.LA57=1)");

    private final String description;

    PagingMode(String description) {
        this.description = description;
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
}
